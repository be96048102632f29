import {
  type AnyProcedure,
  type AnyRouter,
  TRPCError,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
} from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { callProcedure } from './callProcedure.js';

export type SingleCallType = 'query' | 'mutation';

export interface SingleCallAnswer {
  status: number;
  body: string;
  /** The failure, if the call failed (for logging and Retry-After). */
  error: TRPCError | undefined;
}

/** Procedure paths the fast path takes; anything else (encoded, odd) goes through `resolveResponse`. */
const PLAIN_PATH = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;
/** Each router's procedure paths, as PLAIN_PATH judged them once (bounded: only the router's own paths). */
const plainPaths = new WeakMap<AnyRouter, Map<string, boolean>>();

function isPlainPath(router: AnyRouter, path: string): boolean {
  let judged = plainPaths.get(router);
  if (!judged) plainPaths.set(router, (judged = new Map()));
  let plain = judged.get(path);
  if (plain === undefined) judged.set(path, (plain = PLAIN_PATH.test(path)));
  return plain;
}

/**
 * The procedure a plain single call would run — a query over `GET` or a
 * mutation over `POST` — or `undefined` when the request is anything else
 * (a batch, an unknown path, a mutation over GET or a query over POST, a
 * lazy router): those keep going through `resolveResponse`, which answers
 * them exactly as tRPC does.
 */
export function singleCallProcedure(router: AnyRouter, path: string, search: URLSearchParams, type: SingleCallType): AnyProcedure | undefined {
  if (search.has('batch')) return undefined;
  const procedures = router._def.procedures as Record<string, AnyProcedure | undefined>;
  if (!Object.hasOwn(procedures, path) || !isPlainPath(router, path)) return undefined;
  const procedure = procedures[path];
  // A procedure with its own caller (`.experimental_caller(…)`) runs through tRPC, which calls it.
  if ((procedure?._def as { experimental_caller?: boolean } | undefined)?.experimental_caller) return undefined;
  return procedure?._def.type === type ? procedure : undefined;
}

/**
 * Runs one call the way `resolveResponse`'s single-call path does —
 * same input parsing, error shape, status and body — with tRPC's public
 * helpers (`getTRPCErrorShape`, `getHTTPStatusCodeFromError`, the router's
 * transformer) but without the per-request `Request`/
 * `Response`/`Headers`/`AbortSignal` objects that a read does not need
 * (issue 5's profile: about a third of an authenticated read).
 * `test/koaMount.test.ts` holds it to byte-for-byte equality.
 */
export async function runSingleCall(
  router: AnyRouter,
  procedure: AnyProcedure,
  type: SingleCallType,
  path: string,
  /** The `input` query parameter of a query, the body of a mutation. */
  inputText: string | null,
  ctx: unknown,
  onError: (error: TRPCError, input: unknown) => void,
): Promise<SingleCallAnswer> {
  const config = router._def._config;
  const input = new RawInput(inputText, config.transformer.input);
  try {
    // No `signal` (typed `AbortSignal | undefined` for procedures; createCaller passes none either): a per-request
    // AbortController is part of the cost this path exists to avoid.
    const data = await callProcedure(procedure, { path, getRawInput: input.read.bind(input), ctx: ctx as object, type });
    if (isDataStream(data)) {
      throw new TRPCError({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink',
      });
    }
    // What transformTRPCResponse does to one item, without its two object copies.
    return { status: 200, body: JSON.stringify({ result: { data: config.transformer.output.serialize(data) } }), error: undefined };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    onError(error, input.value);
    const shape = getTRPCErrorShape({ config, error, type, path, input: input.value, ctx });
    return { status: getHTTPStatusCodeFromError(error), body: JSON.stringify({ error: config.transformer.output.serialize(shape) }), error };
  }
}

/**
 * A call's input, parsed once however many input parsers ask (tRPC memoizes it the same way). A class and a
 * bound method, not a named closure per request: under tsx each of those also costs a `__name` call (1 % of a
 * read in the profile).
 */
class RawInput {
  readonly #text: string | null;
  readonly #deserializer: { deserialize: (value: unknown) => unknown };
  #parsed = false;
  value: unknown;

  constructor(text: string | null, deserializer: { deserialize: (value: unknown) => unknown }) {
    this.#text = text;
    this.#deserializer = deserializer;
  }

  read(): Promise<unknown> {
    if (!this.#text) return Promise.resolve(undefined); // tRPC treats a missing and an empty input alike
    if (this.#parsed) return Promise.resolve(this.value);
    try {
      this.value = this.#deserializer.deserialize(JSON.parse(this.#text));
    } catch (cause) {
      return Promise.reject(new TRPCError({ code: 'BAD_REQUEST', message: cause instanceof Error ? cause.message : 'Invalid input', cause }));
    }
    this.#parsed = true;
    return Promise.resolve(this.value);
  }
}

function isDataStream(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Symbol.asyncIterator in value) return true;
  return Object.values(value).some((v) => v instanceof Promise || (v !== null && typeof v === 'object' && Symbol.asyncIterator in v));
}
