import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from './helpers/logCapture.js';
import { request, sessionCookie } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

// S6 (ASVS 16.2.5, 14.2.1) and A1: logs carry who and a short session hash, never a session id, cookie or password;
// a failed login carries a keyed tag of the login, never the login (an email address is personal data: issue 19).
const logs = captureLogs('debug');
let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ deps: { logger: logs.logger } });
});
afterAll(() => srv.close());

const password = 'Tr0ub4dor&3-secret-pass';
const call = (path: string, cookie?: string, body?: unknown) => request(`${srv.url}/trpc/${path}`, { cookie, body, method: body === undefined ? 'GET' : 'POST' });
const newPassword = 'n3w-Secret-passphrase!';

describe('the logs of a whole session flow', () => {
  it('register, failed login, two logins, data, list, revoke, password change, logout: events carry user and session tag; no raw cookie, session id or password appears anywhere', async () => {
    const secrets = new Set<string>([password, newPassword]);
    const remember = (cookie: string) => {
      const value = cookie.slice(cookie.indexOf('=') + 1);
      secrets.add(value);
      secrets.add(value.split('.')[0]!); // the raw session id
      secrets.add(value.split('.')[1]!); // its signature
    };

    const registered = await call('auth.register', undefined, { username: 'log-user', password });
    expect(registered.status).toBe(200);
    remember(sessionCookie(registered));
    expect((await call('auth.login', undefined, { username: 'log-user', password: `${password}-wrong` })).status).toBe(401);
    secrets.add(`${password}-wrong`);
    const first = sessionCookie(await call('auth.login', undefined, { username: 'log-user', password }));
    const second = sessionCookie(await call('auth.login', undefined, { username: 'log-user', password }));
    remember(first);
    remember(second);
    expect((await call('data', first)).status).toBe(200);
    const listed = (await call('sessions.list', first)).json as { result: { data: { id: string; current: boolean }[] } };
    const other = listed.result.data.find((s) => !s.current)!;
    expect((await call('sessions.revoke', first, { id: other.id })).status).toBe(200);
    const changed = await call('auth.changePassword', first, { currentPassword: password, newPassword });
    expect(changed.status).toBe(200);
    const rotated = sessionCookie(changed);
    remember(rotated);
    expect((await call('auth.logout', rotated, {})).status).toBe(200);
    expect((await call('data', rotated)).status).toBe(401);

    const text = logs.text();
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/sid=/);

    const entries = logs.entries();
    const byEvent = (event: string) => entries.filter((e) => e.event === event);
    const tag = /^[A-Za-z0-9_-]{10}$/;
    for (const event of ['auth.register', 'auth.login', 'auth.logout', 'sessions.revoke', 'auth.password_changed']) {
      const found = byEvent(event);
      expect(found.length, event).toBeGreaterThan(0);
      for (const entry of found) {
        expect(entry.userId, event).toMatch(/^[0-9a-f-]{36}$/);
        expect(entry.session, event).toMatch(tag);
        expect(entry.requestId, event).toMatch(/^[0-9a-f-]{36}$/);
      }
    }
    expect(byEvent('auth.login')).toHaveLength(2);
    expect(byEvent('sessions.revoke')[0]!.revoked).toMatch(tag);
    const failed = byEvent('auth.login_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.loginTag).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(failed[0]!.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a failed or throttled login logs a tag of the login, never the login: the same login gets the same tag, another login another', async () => {
    const login = (username: string) => request(`${srv.url}/trpc/auth.login`, { method: 'POST', body: { username, password: 'not-the-password-1' } });
    const from = logs.entries().length;
    expect((await call('auth.register', undefined, { username: 'tag.victim', password })).status).toBe(200);
    // Six wrong guesses at one account (the sixth is past the limit of five), spelled two ways, and one at a login nobody has.
    const statuses = [];
    for (const username of ['tag.victim', 'Tag.Victim', 'tag.victim', 'TAG.VICTIM', 'tag.victim', 'tag.victim']) statuses.push((await login(username)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await login('tag.nobody')).status).toBe(401);

    const written = logs.entries().slice(from);
    const text = written.map((entry) => JSON.stringify(entry)).join('\n');
    for (const name of ['tag.victim', 'victim', 'tag.nobody', 'nobody']) expect(text.toLowerCase()).not.toContain(name);
    const failed = written.filter((entry) => entry.event === 'auth.login_failed');
    const throttled = written.filter((entry) => entry.event === 'auth.login_throttled');
    expect(failed).toHaveLength(6);
    expect(throttled).toHaveLength(1);
    const victim = failed[0]!.loginTag as string;
    expect(victim).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(new Set([...failed.slice(0, 5), ...throttled].map((entry) => entry.loginTag))).toEqual(new Set([victim]));
    expect(failed[5]!.loginTag).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(failed[5]!.loginTag).not.toBe(victim);
    for (const entry of [...failed, ...throttled]) expect(entry).not.toHaveProperty('username');
  });

  it('redaction is a second line of defence: a password or cookie handed to the logger by mistake is censored', () => {
    const capture = captureLogs('info');
    capture.logger.info({ password: 'hunter2-hunter2', headers: { cookie: 'sid=abc.def' }, input: { password: 'x-secret-x' } }, 'oops');
    const text = capture.text();
    expect(text).not.toContain('hunter2-hunter2');
    expect(text).not.toContain('abc.def');
    expect(text).not.toContain('x-secret-x');
    expect(text).toContain('[redacted]');
  });
});
