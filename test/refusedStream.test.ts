import { expect, it } from 'vitest';
import { withRefusalCodes } from '../client/refusedStream.js';

/**
 * A stream the SSE mount refused (401 before any byte) reaches the subscription as Gatehouse's error data, from
 * whichever field the EventSource puts the status in: `code` (the `eventsource` package), `xhrStatus`
 * (react-native-sse, whose listeners get plain objects). Stand-in EventSources: only the status field matters.
 */
class ListeningSource {
  readonly listeners: ((event: object) => void)[] = [];
  constructor(readonly url: string) {}
  addEventListener(_type: string, listener: (event: object) => void) {
    this.listeners.push(listener);
  }
  fail(event: object) {
    for (const listener of this.listeners) listener(event);
    return event as { error?: unknown };
  }
}
const open = () => new (withRefusalCodes(ListeningSource as never) as unknown as typeof ListeningSource)('http://127.0.0.1/trpc/feed');

it('the eventsource package’s `code` and react-native-sse’s `xhrStatus` both become UNAUTHORIZED data', () => {
  const unauthorized = { code: -32001, message: 'You are not signed in, or your session has ended. Sign in again.', data: { code: 'UNAUTHORIZED', httpStatus: 401 } };
  expect(open().fail({ type: 'error', code: 401 }).error).toEqual(unauthorized);
  expect(open().fail({ type: 'error', message: '', xhrStatus: 401, xhrState: 4 }).error).toEqual(unauthorized);
});

it('a network failure (no status, or react-native-sse’s status 0) carries no refusal', () => {
  expect(open().fail({ type: 'error' }).error).toBeUndefined();
  expect(open().fail({ type: 'error', xhrStatus: 0, xhrState: 4 }).error).toBeUndefined();
});
