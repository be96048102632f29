import { expiryOf } from './expiry.js';

/** One field of a map kept in a single value: its value and expiry (epoch ms, `null`: never). */
export interface MapField {
  readonly value: string;
  readonly expires: number | null;
}

/**
 * A map (the per-user session index) for stores that keep it in one value
 * (`keyvStore`: an adapter has no hashes). Stored as JSON,
 * `{"<field>":{"v":"<value>","exp":<epoch ms or null>}}`, and rewritten
 * whole on every change, so the store must serialize writers of one key.
 */
export class StoredMap {
  readonly #fields: Map<string, MapField>;

  private constructor(fields: Map<string, MapField>) {
    this.#fields = fields;
  }

  /** The live fields of `raw` at `now`; a missing value, or one that is not such a map, is an empty map. */
  static parse(raw: string | undefined, now: number): StoredMap {
    const fields = new Map<string, MapField>();
    if (raw === undefined) return new StoredMap(fields);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return new StoredMap(fields);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return new StoredMap(fields);
    for (const [field, entry] of Object.entries(parsed as Record<string, unknown>)) {
      const { v, exp } = (entry ?? {}) as { v?: unknown; exp?: unknown };
      if (typeof v !== 'string' || !(exp === null || typeof exp === 'number')) continue;
      if (exp === null || exp > now) fields.set(field, { value: v, expires: exp });
    }
    return new StoredMap(fields);
  }

  get size(): number {
    return this.#fields.size;
  }

  set(field: string, value: string, ttlMs: number, now: number): void {
    this.#fields.set(field, { value, expires: expiryOf(ttlMs, now) });
  }

  delete(field: string): boolean {
    return this.#fields.delete(field);
  }

  values(): Map<string, string> {
    return new Map([...this.#fields].map(([field, { value }]) => [field, value]));
  }

  /** The TTL for the whole value at `now`: until its last field expires, 0 (kept) when one never does. */
  ttlMs(now: number): number {
    let last = now + 1;
    for (const { expires } of this.#fields.values()) {
      if (expires === null) return 0;
      last = Math.max(last, expires);
    }
    return last - now;
  }

  toJSON(): Record<string, { v: string; exp: number | null }> {
    return Object.fromEntries([...this.#fields].map(([field, { value, expires }]) => [field, { v: value, exp: expires }]));
  }
}
