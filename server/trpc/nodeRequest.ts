import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

/**
 * A read-only WHATWG `Headers` view over Node's already-parsed request
 * headers: no copy, no validation pass. Node lower-cases names, so a
 * lower-cased lookup is the case-insensitive match `Headers` promises;
 * repeated fields read as one value joined by ", ", as `Headers.get` does.
 */
class NodeHeaders {
  readonly #raw: IncomingHttpHeaders;

  constructor(raw: IncomingHttpHeaders) {
    this.#raw = raw;
  }

  get(name: string): string | null {
    const value = this.#raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.#raw[name.toLowerCase()] !== undefined;
  }

  getSetCookie(): string[] {
    const value = this.#raw['set-cookie'];
    return value === undefined ? [] : [...value];
  }

  forEach(callback: (value: string, name: string, parent: NodeHeaders) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this);
  }

  *entries(): IterableIterator<[string, string]> {
    // Headers iterates in sorted name order.
    for (const name of Object.keys(this.#raw).sort()) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/**
 * What tRPC's `resolveResponse` reads from a request, without building a
 * WHATWG `Request`: on Node 20 that costs a header copy and validation, a
 * URL parse, a body stream and an `AbortSignal` per request, which was a
 * large share of the plain mount's time (bench/PROFILE.md). `method`,
 * `url`, `headers`, `signal` and `text()` are what tRPC's JSON handler
 * uses; anything else (`formData()`, `body`, …: the form-data and
 * octet-stream handlers, or a caller's `onError`) gets a real `Request`,
 * built once on first use, so behaviour stays that of a `Request`.
 *
 * `signal` aborts when the client goes away before the answer is written
 * (its connection closes): tRPC hands it to the procedures, so a slow
 * query can stop and a subscription's generator sees `signal.aborted`.
 */
export class NodeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: NodeHeaders;
  readonly #rawHeaders: IncomingHttpHeaders;
  readonly #body: string | null;
  readonly #response: ServerResponse | undefined;
  #controller: AbortController | undefined;
  #real: Request | undefined;
  #used = false;

  /** `response`: the answer to this request, whose `close` before it finished means the client left. */
  constructor(method: string, url: string, headers: IncomingHttpHeaders, body: string | null, response?: ServerResponse) {
    this.method = method;
    this.url = url;
    this.#rawHeaders = headers;
    this.headers = new NodeHeaders(headers);
    this.#body = body;
    this.#response = response;
  }

  /** Aborts when the client disconnects before the answer is complete; never otherwise. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      const controller = (this.#controller = new AbortController());
      const response = this.#response;
      if (response) {
        // `close` also follows a complete answer (`writableFinished`): only an early one is the client leaving.
        const onClose = () => {
          if (!response.writableFinished) controller.abort();
        };
        if (response.closed) onClose();
        else response.once('close', onClose);
      }
    }
    return this.#controller.signal;
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#real?.bodyUsed ?? false);
  }

  text(): Promise<string> {
    if (this.#real) return this.#real.text();
    if (this.#used) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    this.#used = true;
    return Promise.resolve(this.#body ?? '');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#request().body;
  }

  formData(): Promise<FormData> {
    return this.#request().formData();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#request().arrayBuffer();
  }

  blob(): Promise<Blob> {
    return this.#request().blob();
  }

  clone(): Request {
    return this.#request().clone();
  }

  /** The real `Request`, for the uncommon paths. */
  #request(): Request {
    if (!this.#real) {
      const headers = new Headers();
      for (const [name, value] of Object.entries(this.#rawHeaders)) {
        if (typeof value === 'string') headers.set(name, value);
        else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      }
      this.#real = new Request(this.url, {
        method: this.method,
        headers,
        body: this.#used ? null : this.#body || null,
        signal: this.signal,
      });
    }
    return this.#real;
  }
}
