import type { EventSourceLike } from './eventSourceLike.js';

/** tRPC's code (JSON-RPC number and name) for each status the SSE mount refuses a stream with before it opens. */
const REFUSALS: Readonly<Record<number, readonly [number, string, string]>> = {
  400: [-32600, 'BAD_REQUEST', 'The subscription request was refused as malformed.'],
  401: [-32001, 'UNAUTHORIZED', 'You are not signed in, or your session has ended. Sign in again.'],
  403: [-32003, 'FORBIDDEN', 'You are not allowed to do that.'],
  429: [-32029, 'TOO_MANY_REQUESTS', 'Too many attempts. Wait and try again.'],
  503: [-32603, 'SERVICE_UNAVAILABLE', 'The session store is unavailable. Try again in a moment.'],
};

/**
 * The server refuses a stream whose session is not live with an HTTP 401
 * before its first byte (an EventSource then stops, rather than reconnecting
 * forever). tRPC's subscription link reports a closed EventSource as an error
 * with no data; where the EventSource says the status (the `eventsource`
 * package: `event.code`; react-native-sse: `event.xhrStatus`), this gives that error Gatehouse's
 * error data, so `error.data.code === 'UNAUTHORIZED'` works as for any call.
 * A browser's EventSource never says the status: there, re-check the session
 * (`auth.me`) when a subscription fails.
 */
export function withRefusalCodes(Base: EventSourceLike): EventSourceLike {
  return class GatehouseEventSource extends (Base as new (url: string, init?: object) => EventTarget) {
    constructor(url: string, init?: object) {
      super(url, init);
      this.addEventListener('error', (event) => {
        const reported = event as { code?: unknown; xhrStatus?: unknown };
        const status = reported.code ?? reported.xhrStatus;
        const refusal = typeof status === 'number' ? REFUSALS[status] : undefined;
        if (!refusal) return;
        const [code, name, message] = refusal;
        // TRPCClientError.from() reads an `error` field shaped like a tRPC error response.
        Object.defineProperty(event, 'error', { value: { code, message, data: { code: name, httpStatus: status } }, configurable: true });
      });
    }
  } as unknown as EventSourceLike;
}
