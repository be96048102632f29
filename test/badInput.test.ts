import { directoryOf } from './helpers/server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, request } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.close());

interface ErrorBody {
  error: { message: string; data: { code: string; httpStatus: number; fieldErrors?: Record<string, string[]>; requestId?: string; stack?: unknown } };
}

async function register(body: unknown, headers?: Record<string, string>) {
  return request(`${srv.url}/trpc/auth.register`, { body, headers });
}

async function expectNoUser(username: string) {
  expect(await directoryOf(srv.gatehouse).findByUsername(username)).toBeUndefined();
}

describe('bad input to register: a clear 4xx, field errors, nothing stored, no cookie', () => {
  it.each([
    ['a number for the username', { username: 12345, password: 'long enough pw' }, 'username'],
    ['a missing password', { username: 'missing-pw' }, 'password'],
    ['a too short password', { username: 'short-pw', password: 'short' }, 'password'],
    ['a too long password', { username: 'long-pw', password: 'x'.repeat(129) }, 'password'],
    ['a too short username', { username: 'ab', password: 'long enough pw' }, 'username'],
    ['a username with a space', { username: 'with space', password: 'long enough pw' }, 'username'],
    ['an object for the password', { username: 'obj-pw', password: { $gt: '' } }, 'password'],
  ])('%s → 400 BAD_REQUEST naming the field', async (_label, body, field) => {
    const res = await register(body);
    expect(res.status).toBe(400);
    const json = res.json as ErrorBody;
    expect(json.error.data.code).toBe('BAD_REQUEST');
    expect(Object.keys(json.error.data.fieldErrors ?? {})).toContain(field);
    expect(json.error.message).toMatch(new RegExp(`^Invalid input: ${field}: `));
    expect(json.error.data.stack).toBeUndefined();
    expect(res.setCookies).toEqual([]);
    const username = (body as { username?: unknown }).username;
    if (typeof username === 'string') await expectNoUser(username);
  });

  it('malformed JSON → 400 with a message, not a 500', async () => {
    const res = await register('{"username": "broken-json", "password": ');
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('BAD_REQUEST');
    expect(res.setCookies).toEqual([]);
    await expectNoUser('broken-json');
  });

  it('an empty body → 400', async () => {
    const res = await register('');
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('BAD_REQUEST');
  });

  it('a 10 MB body → 413 PAYLOAD_TOO_LARGE, nothing stored', async () => {
    const res = await register({ username: 'huge-body', password: 'x'.repeat(10 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
    await expectNoUser('huge-body');
  });

  it('a 1000-call batch → 400, and none of the calls ran', async () => {
    const paths = Array.from({ length: 1000 }, () => 'auth.register').join(',');
    const input: Record<number, unknown> = {};
    for (let i = 0; i < 1000; i += 1) input[i] = { username: `batch-${i}`, password: 'long enough pw' };
    const res = await request(`${srv.url}/trpc/${paths}?batch=1`, { body: input });
    expect(res.status).toBe(400);
    await expectNoUser('batch-0');
    await expectNoUser('batch-999');
  });

  it('a batch within the limit works and answers each call', async () => {
    const res = await request(`${srv.url}/trpc/auth.me,auth.me?batch=1&input=${encodeURIComponent('{}')}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual([{ result: { data: null } }, { result: { data: null } }]);
  });

  it('an unknown procedure → 404 NOT_FOUND', async () => {
    const res = await request(`${srv.url}/trpc/auth.nope`);
    expect(res.status).toBe(404);
    expect(errorCode(res)).toBe('NOT_FOUND');
  });

  it('a mutation over GET → 405 (queries have no side effects, and GET never runs a mutation)', async () => {
    const get = await request(`${srv.url}/trpc/auth.logout`);
    expect(get.status).toBe(405);
  });

  it('a query over POST → 405: method override stays off', async () => {
    const post = await request(`${srv.url}/trpc/auth.me`, { body: {} });
    expect(post.status).toBe(405);
  });
});
