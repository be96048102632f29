import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorMessages } from '../shared/errors.js';
import { referenceRoutes as gatehouseRoutes } from '../server/reference/router.js';
import { publicProcedure, router } from '../server/trpc/init.js';
import { transportMessages } from '../server/trpc/publicMessage.js';
import { captureLogs } from './helpers/logCapture.js';
import { request, signUp, type RawResponse } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

// SECURITY.md F2: every error answer of the mount carries the request id and a message Gatehouse chose,
// including the ones tRPC raises before any context exists, and never echoes what the client sent.
const MARKER = 'zq-marker-7f3a';

const probeRouter = router({
  ...gatehouseRoutes,
  lookup: publicProcedure.input(z.object({ name: z.string() })).query(({ input }) => input.name),
  ticks: publicProcedure.subscription(async function* () {
    yield 1;
  }),
  later: publicProcedure.query(() => ({ value: Promise.resolve(1) })),
});

const logs = captureLogs('debug');
let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ router: probeRouter, deps: { logger: logs.logger } });
});
afterAll(() => srv.close());

interface ErrorShape {
  message: string;
  code: number;
  data: { code: string; httpStatus: number; requestId?: string; fieldErrors?: Record<string, string[]> };
}

/** One error answer (or each of a batch's): its status, its message, the request id of the header, no echo. */
function expectAnswer(res: RawResponse, status: number, message: string, echoed: string[] = [MARKER]): void {
  expect(res.status).toBe(status);
  const requestId = res.headers.get('x-request-id');
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  const errors = (Array.isArray(res.json) ? res.json : [res.json]).map((item) => (item as { error: ErrorShape }).error);
  for (const error of errors) {
    expect(error.message).toBe(message);
    expect(error.data.requestId).toBe(requestId);
  }
  const everything = res.body + JSON.stringify([...res.headers]);
  for (const text of echoed) expect(everything).not.toContain(text);
}

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  request(`${srv.url}/trpc/${path}`, { body, headers: { 'content-type': 'application/json', ...headers } });

describe('errors tRPC raises before it has a context', () => {
  it('a body over the limit → 413 with the limit, the request id, and none of the body', async () => {
    const res = await post('auth.register', JSON.stringify({ username: MARKER, password: 'x'.repeat(200 * 1024) }));
    expectAnswer(res, 413, 'Request body larger than 102400 bytes.');
  });

  it('a batch body over the limit → 413 for each call, each with the request id', async () => {
    const res = await post('auth.login,auth.login?batch=1', JSON.stringify({ 0: { username: MARKER, password: 'y'.repeat(200 * 1024) } }));
    expectAnswer(res, 413, 'Request body larger than 102400 bytes.');
    expect(res.json).toHaveLength(2);
  });

  it('a batch over the size limit → 400, no call runs', async () => {
    const paths = Array.from({ length: 21 }, () => 'auth.me').join(',');
    const res = await request(`${srv.url}/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: MARKER }))}`);
    expectAnswer(res, 400, transportMessages.batchTooLarge);
  });

  it('queries and mutations mixed in one batch → 400, without the procedure types tRPC would list', async () => {
    const res = await post('auth.me,auth.logout?batch=1', JSON.stringify({ 1: MARKER }));
    expectAnswer(res, 400, transportMessages.mixedBatch, [MARKER, 'query, mutation']);
  });

  it('a path that is not valid URL encoding → 400 without the path', async () => {
    const res = await request(`${srv.url}/trpc/%E0%A4%A${MARKER}`);
    expectAnswer(res, 400, transportMessages.invalidPath, [MARKER, '%E0%A4%A']);
  });

  it('a stream asked for without a batch → 400', async () => {
    const res = await request(`${srv.url}/trpc/auth.me?input=${MARKER}`, { headers: { 'trpc-accept': 'application/jsonl' } });
    expectAnswer(res, 400, transportMessages.unbatchedStream);
  });

  it('connection params of any kind → 400: they travel in the URL, no place for a credential (and their text is not echoed)', async () => {
    for (const params of [MARKER, encodeURIComponent(JSON.stringify({ token: MARKER }))]) {
      const res = await request(`${srv.url}/trpc/auth.me,auth.me?batch=1&input={}&connectionParams=${params}`);
      expectAnswer(res, 400, transportMessages.connectionParamsRefused);
    }
  });
});

describe('errors tRPC raises around a procedure', () => {
  it('malformed JSON in a mutation body (the fast path) → 400 without the parser\'s view of the body', async () => {
    const res = await post('auth.login', `{not json ${MARKER}`);
    expectAnswer(res, 400, transportMessages.invalidJson, [MARKER, 'not json', 'position', 'Unexpected', 'Expected']);
  });

  it('malformed JSON in a batch body → 400 for each call', async () => {
    const res = await post('auth.login,auth.register?batch=1', `{not json ${MARKER}`);
    expectAnswer(res, 400, transportMessages.invalidJson, [MARKER, 'not json', 'position']);
    expect(res.json).toHaveLength(2);
  });

  it('malformed JSON in a query\'s input → 400', async () => {
    const res = await request(`${srv.url}/trpc/lookup?input=${encodeURIComponent(`{"name": ${MARKER}`)}`);
    expectAnswer(res, 400, transportMessages.invalidJson, [MARKER, 'position']);
  });

  it('a batch whose input is not an object → 400', async () => {
    const res = await request(`${srv.url}/trpc/lookup,lookup?batch=1&input=${encodeURIComponent(JSON.stringify(MARKER))}`);
    expectAnswer(res, 400, transportMessages.batchInputNotObject);
  });

  it('an unknown procedure → 404 without its path, alone and in a batch', async () => {
    expectAnswer(await request(`${srv.url}/trpc/${MARKER}`), 404, transportMessages.noSuchProcedure);
    const batch = await request(`${srv.url}/trpc/${MARKER},auth.me?batch=1&input={}`);
    expect(batch.status).toBe(207);
    const [missing, me] = batch.json as [{ error: ErrorShape }, { result: { data: unknown } }];
    expect(missing.error).toMatchObject({ message: transportMessages.noSuchProcedure, data: { requestId: batch.headers.get('x-request-id') } });
    expect(me.result.data).toBeNull();
    expect(batch.body).not.toContain(MARKER);
  });

  it('a mutation over GET and a query over POST → 405 with Allow, without method or path in the message', async () => {
    const get = await request(`${srv.url}/trpc/auth.logout?input=${MARKER}`);
    expectAnswer(get, 405, transportMessages.wrongMethod, [MARKER, 'auth.logout']);
    expect(get.headers.get('allow')).toBe('POST');
    const postQuery = await post('auth.me', JSON.stringify(MARKER));
    expectAnswer(postQuery, 405, transportMessages.wrongMethod, [MARKER, 'auth.me']);
    expect(postQuery.headers.get('allow')).toBe('GET');
  });

  it('a GET that names a form or binary body type → 405 asking for JSON, without the type echoed', async () => {
    for (const type of ['multipart/form-data; boundary=x', 'application/octet-stream']) {
      const res = await request(`${srv.url}/trpc/auth.me?input=${MARKER}`, { headers: { 'content-type': type } });
      expectAnswer(res, 405, transportMessages.jsonOnly, [MARKER, type.split(';')[0]!]);
    }
  });

  it('a subscription in a batch → 400', async () => {
    const res = await request(`${srv.url}/trpc/ticks,ticks?batch=1&input={}`, { headers: { accept: 'text/event-stream' } });
    expectAnswer(res, 400, transportMessages.batchedSubscription);
  });

  it('a streaming result asked for without httpBatchStreamLink → 415', async () => {
    expectAnswer(await request(`${srv.url}/trpc/later`), 415, transportMessages.streamWithoutStreamLink);
  });
});

describe('messages a procedure chose are kept', () => {
  it('invalid input keeps its field errors and zod\'s message', async () => {
    const res = await post('auth.login', JSON.stringify({ username: 'x', password: 1 }));
    expect(res.status).toBe(400);
    const { error } = res.json as { error: ErrorShape };
    expect(error.message).toBe('Invalid input: username: username must be at least 3 characters');
    expect(error.data.fieldErrors).toEqual({ username: ['username must be at least 3 characters'], password: ['password must be a string'] });
    expect(error.data.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('a TRPCError a procedure throws keeps its message: 401 and a NOT_FOUND of its own', async () => {
    expectAnswer(await request(`${srv.url}/trpc/data`), 401, errorMessages.unauthorized);
    const cookie = await signUp(srv.url, 'mount-errors-owner');
    expectAnswer(await request(`${srv.url}/trpc/sessions.revoke`, { cookie, body: { id: 'A'.repeat(43) } }), 404, 'No such session.');
  });
});

describe('OPTIONS to the prefix (not a CORS preflight)', () => {
  it('→ 204 naming the methods the API takes, not tRPC\'s 415', async () => {
    const res = await request(`${srv.url}/trpc/auth.me`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('allow')).toBe('GET, POST, OPTIONS');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toBe('');
  });
});

describe('a client that hangs up in the middle of its body', () => {
  it('is logged at info with the request id and no stack, never as an error, and the server keeps answering', async () => {
    const before = logs.entries().length;
    const socket = connect(Number(new URL(srv.url).port), '127.0.0.1');
    await once(socket, 'connect');
    const arrived = once(srv.server, 'request');
    socket.write(`POST /trpc/auth.login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"username":"${MARKER}`);
    await arrived; // the server has the head and is reading the body
    socket.destroy();
    let entry: Record<string, unknown> | undefined;
    while (!(entry = logs.entries().slice(before).find((e) => e.event === 'request.incomplete' || (e.level as number) >= 50))) await new Promise(setImmediate);
    expect(entry.level).toBe(30);
    expect(entry.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(entry).not.toHaveProperty('err');
    expect(JSON.stringify(entry)).not.toContain(MARKER);
    expect((await request(`${srv.url}/trpc/auth.me`)).status).toBe(200);
    const noisy = logs.entries().slice(before).filter((e) => (e.level as number) >= 40);
    expect(noisy).toEqual([]);
  });
});
