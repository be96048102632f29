import type { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { errorMessages } from '../../shared/errors.js';

/** What Gatehouse says instead of tRPC's own transport errors (SECURITY.md F2). */
export const transportMessages = {
  invalidJson: 'The input is not valid JSON.',
  invalidPath: 'The procedure path is not valid URL encoding.',
  batchTooLarge: 'Too many calls in one batch.',
  batchInputNotObject: 'The input of a batch must be a JSON object keyed by call index.',
  mixedBatch: 'One batch cannot mix queries, mutations and subscriptions.',
  unbatchedStream: 'Streamed calls must be batched (httpBatchStreamLink does this).',
  batchedSubscription: 'Subscriptions cannot be batched.',
  streamWithoutStreamLink: 'This procedure streams its answer: call it through httpBatchStreamLink.',
  noSuchProcedure: 'No such procedure.',
  wrongMethod: 'Queries and subscriptions are called with GET, mutations with POST.',
  jsonOnly: 'Send requests with Content-Type: application/json.',
  invalidConnectionParams: 'The connectionParams query parameter must be a JSON object of strings.',
  /** Gatehouse refuses connectionParams outright: tRPC's httpSubscriptionLink sends them in the URL. */
  connectionParamsRefused: 'connectionParams travel in the URL (logs, proxies, history): send credentials as a cookie or Authorization: Bearer, not as connection parameters.',
} as const;

interface Row {
  code: TRPC_ERROR_CODE_KEY;
  /** tRPC's own message (its start), or the class of the parser error it wraps. */
  match: RegExp | (new (...args: never[]) => Error);
  message: string;
}

/**
 * tRPC's errors about the request itself, which it raises before or
 * around the procedure (often before any context exists), and what the
 * client gets instead. Their texts echo the path, the method or the
 * parser's view of the input (`Unexpected token … "{not json"…`); these
 * do not. Rows with a class match the cause tRPC wraps, so they hold for
 * any parser message; rows with a pattern match tRPC 11's fixed texts
 * (`test/mountErrors.test.ts` plays each one, so an upgrade that changes
 * them fails there).
 */
const TRPC_OWN: readonly Row[] = [
  { code: 'BAD_REQUEST', match: SyntaxError, message: transportMessages.invalidJson },
  { code: 'BAD_REQUEST', match: URIError, message: transportMessages.invalidPath },
  { code: 'BAD_REQUEST', match: /^Batch call exceeds maximum size/, message: transportMessages.batchTooLarge },
  { code: 'BAD_REQUEST', match: /^"input" needs to be an object when doing a batch call/, message: transportMessages.batchInputNotObject },
  { code: 'BAD_REQUEST', match: /^Cannot mix procedure types in call/, message: transportMessages.mixedBatch },
  { code: 'BAD_REQUEST', match: /^Streaming requests must be batched/, message: transportMessages.unbatchedStream },
  { code: 'BAD_REQUEST', match: /^Cannot batch subscription calls/, message: transportMessages.batchedSubscription },
  { code: 'NOT_FOUND', match: /^No procedure found on path /, message: transportMessages.noSuchProcedure },
  { code: 'METHOD_NOT_SUPPORTED', match: /^Unsupported \S+-request to \S+ procedure at path /, message: transportMessages.wrongMethod },
  { code: 'METHOD_NOT_SUPPORTED', match: /^Only POST requests are supported for /, message: transportMessages.jsonOnly },
  { code: 'UNSUPPORTED_MEDIA_TYPE', match: /^(Unsupported content-type|Missing content-type header)/, message: transportMessages.jsonOnly },
  { code: 'UNSUPPORTED_MEDIA_TYPE', match: /^Cannot use stream-like response in non-streaming request/, message: transportMessages.streamWithoutStreamLink },
  { code: 'PARSE_ERROR', match: /^(Not JSON-parsable query params|Invalid connection params shape)/, message: transportMessages.invalidConnectionParams },
];

const matches = (row: Row, error: TRPCError) =>
  row.code === error.code && (row.match instanceof RegExp ? row.match.test(error.message) : error.cause instanceof row.match);

/**
 * The message a client may see for `error`: Gatehouse's for tRPC's own
 * transport errors, the generic one for anything unexpected (internal
 * messages can carry addresses and paths: `ECONNREFUSED 10.0.0.5:6379`),
 * and otherwise the message the procedure chose.
 */
export function publicMessageOf(error: TRPCError): string {
  if (error.code === 'INTERNAL_SERVER_ERROR') return errorMessages.internal;
  for (const row of TRPC_OWN) if (matches(row, error)) return row.message;
  return error.message;
}
