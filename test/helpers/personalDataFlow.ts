import { randomBytes } from 'node:crypto';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'vitest';
import { request, sessionCookie } from './http.js';
import { startServer } from './server.js';
import type { TelemetrySdk } from './telemetrySdk.js';

/** The backends whose drivers have OpenTelemetry instrumentations, and their URLs. */
export const instrumentedBackends = [
  ['redis', process.env['REDIS_URL']],
  ['postgres', process.env['DATABASE_URL']],
] as const;

/** Everything an exported span says: its name, attributes, events and status. */
export const exported = (spans: readonly ReadableSpan[]) =>
  spans.map((span) => JSON.stringify([span.name, span.attributes, span.events.map((event) => [event.name, event.attributes]), span.status])).join('\n');

export interface PersonalDataRun {
  spans: ReadableSpan[];
  /** What must not be in a span: [what, value]. */
  secrets: (readonly [string, string])[];
}

/**
 * On a reference server over `url` (behind a trusted proxy, from a client address of its own): register,
 * log in (staying signed in), fail a login, read, resume from the device credential alone, log in and read
 * as a bearer client, change the password, revoke the others, log out; resolves every span exported meanwhile, and the
 * login, user id, address, session id and cookie token of that user.
 */
export async function personalDataRun(sdk: TelemetrySdk, kind: string, url: string | undefined): Promise<PersonalDataRun> {
  if (!url) throw new Error(`${kind}: set its URL (source /work/env.sh; .ci/run sets it)`);
  const srv = await startServer({ env: { SESSION_STORE_URL: url, SESSION_STORE_NAMESPACE: `gh_pii_${process.pid}_${kind}`, TRUST_PROXY: 'true' } });
  try {
    const username = `PiiUser${randomBytes(4).toString('hex')}`;
    const password = 'correct horse battery';
    const address = '203.0.113.77';
    const headers = { 'x-forwarded-for': address };
    sdk.spans.reset();
    const registered = await request(`${srv.url}/trpc/auth.register`, { body: { username, password }, headers });
    expect(registered.status).toBe(200);
    const userId = (registered.json as { result: { data: { user: { id: string } } } }).result.data.user.id;
    const login = await request(`${srv.url}/trpc/auth.login`, { body: { username, password, staySignedIn: true }, headers });
    expect(login.status).toBe(200);
    const cookie = sessionCookie(login);
    const remember = login.setCookies.find((line) => line.startsWith('sid-remember='))!.split(';')[0]!;
    expect((await request(`${srv.url}/trpc/auth.login`, { body: { username, password: 'not the password' }, headers })).status).toBe(401);
    expect((await request(`${srv.url}/trpc/data`, { cookie, headers })).status).toBe(200);
    // "Stay signed in": the device credential alone starts a session (and is rotated).
    const resumed = await request(`${srv.url}/trpc/data`, { cookie: remember, headers });
    expect(resumed.status).toBe(200);
    expect(resumed.setCookies.some((line) => line.startsWith('sid-remember='))).toBe(true);
    // A native app's bearer session: login, read.
    const bearer = { ...headers, 'gatehouse-session': 'bearer' };
    const bearerLogin = await request(`${srv.url}/trpc/auth.login`, { body: { username, password }, headers: bearer });
    expect(bearerLogin.status).toBe(200);
    const token = (bearerLogin.json as { result: { data: { token: string } } }).result.data.token;
    expect((await request(`${srv.url}/trpc/data`, { headers: { ...bearer, authorization: `Bearer ${token}` } })).status).toBe(200);
    const changed = await request(`${srv.url}/trpc/auth.changePassword`, { cookie, body: { currentPassword: password, newPassword: 'a brand new password' }, headers });
    expect(changed.status).toBe(200);
    const afterChange = sessionCookie(changed);
    expect((await request(`${srv.url}/trpc/data`, { cookie: afterChange, headers })).status).toBe(200);
    expect((await request(`${srv.url}/trpc/sessions.revokeOthers`, { cookie: afterChange, body: {}, headers })).status).toBe(200);
    expect((await request(`${srv.url}/trpc/auth.logout`, { cookie: afterChange, body: {}, headers })).status).toBe(200);
    const cookieToken = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
    const rememberToken = decodeURIComponent(remember.slice(remember.indexOf('=') + 1));
    return {
      spans: sdk.spans.getFinishedSpans(),
      secrets: [
        ['login', username],
        ['login (lower-cased)', username.toLowerCase()],
        ['user id', userId],
        ['client address', address],
        ['session id', cookieToken.split('.')[0]!],
        ['cookie token', cookieToken],
        ['bearer token', token],
        ['bearer session id', token.split('.')[0]!],
        ['device credential', rememberToken],
      ],
    };
  } finally {
    await srv.close();
  }
}

/** Each secret found, with the span it is in. */
export const leaksIn = (spans: readonly ReadableSpan[], secrets: PersonalDataRun['secrets']) =>
  secrets.flatMap(([what, value]) => spans.filter((span) => exported([span]).includes(value)).map((span) => `${what} in ${span.name}: ${exported([span]).slice(0, 300)}`));

/** Whether the driver's own instrumentation exported spans (else a clean result proves nothing). */
export const driverSpansOf = (spans: readonly ReadableSpan[], kind: string) =>
  spans.filter((span) => span.attributes['db.system.name'] === (kind === 'redis' ? 'redis' : 'postgresql') && !span.name.startsWith('gatehouse.'));
