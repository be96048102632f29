import { randomBytes } from 'node:crypto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, sessionCookie } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';
import { registerTelemetrySdk, type TelemetrySdk } from './helpers/telemetrySdk.js';

// The SDK and the drivers' instrumentations first, before any driver is loaded (Gatehouse loads its driver when
// the store opens): the database client conventions record command arguments and, with enhancedDatabaseReporting,
// query parameters, which is what a store dump shows.
const sdk: TelemetrySdk = registerTelemetrySdk();
registerInstrumentations({ instrumentations: [new RedisInstrumentation(), new PgInstrumentation({ enhancedDatabaseReporting: true })] });

const backends = [
  ['redis', process.env['REDIS_URL']],
  ['postgres', process.env['DATABASE_URL']],
] as const;

/** Everything an exported span says: its name, attributes, events and status. */
const exported = (spans: readonly ReadableSpan[]) =>
  spans.map((span) => JSON.stringify([span.name, span.attributes, span.events.map((event) => [event.name, event.attributes]), span.status])).join('\n');

describe.each(backends)('no personal data in exported spans, with the %s instrumentation on', (kind, url) => {
  let srv: TestServer;
  const username = `PiiUser${randomBytes(4).toString('hex')}`;
  const password = 'correct horse battery';
  const address = '203.0.113.77';
  const fromAddress = { 'x-forwarded-for': address };
  beforeAll(async () => {
    if (!url) throw new Error(`${kind}: set its URL (source /work/env.sh; .ci/run sets it)`);
    srv = await startServer({ env: { SESSION_STORE_URL: url, SESSION_STORE_NAMESPACE: `gh_pii_${process.pid}_${kind}`, TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await srv?.close();
  });
  afterAll(async () => {
    if (kind === 'postgres') await sdk.shutdown();
  });

  let spans: ReadableSpan[];
  let secrets: (readonly [string, string])[];
  beforeAll(async () => {
    sdk.spans.reset();
    const registered = await request(`${srv.url}/trpc/auth.register`, { body: { username, password }, headers: fromAddress });
    expect(registered.status).toBe(200);
    const userId = (registered.json as { result: { data: { user: { id: string } } } }).result.data.user.id;
    const login = await request(`${srv.url}/trpc/auth.login`, { body: { username, password }, headers: fromAddress });
    expect(login.status).toBe(200);
    const cookie = sessionCookie(login);
    const wrong = await request(`${srv.url}/trpc/auth.login`, { body: { username, password: 'not the password' }, headers: fromAddress });
    expect(wrong.status).toBe(401);
    expect((await request(`${srv.url}/trpc/data`, { cookie, headers: fromAddress })).status).toBe(200);
    expect((await request(`${srv.url}/trpc/sessions.revokeOthers`, { cookie, body: {}, headers: fromAddress })).status).toBe(200);
    expect((await request(`${srv.url}/trpc/auth.logout`, { cookie, body: {}, headers: fromAddress })).status).toBe(200);
    spans = sdk.spans.getFinishedSpans();
    const token = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
    secrets = [
      ['login', username],
      ['login (lower-cased)', username.toLowerCase()],
      ['user id', userId],
      ['client address', address],
      ['session id', token.split('.')[0]!],
      ['cookie token', token],
    ];
  });
  /** Each secret found, with the span it is in. */
  const leaks = (among: readonly ReadableSpan[]) =>
    secrets.flatMap(([what, value]) => among.filter((span) => exported([span]).includes(value)).map((span) => `${what} in ${span.name}: ${exported([span]).slice(0, 300)}`));

  it("log in, fail a login, read, revoke the others, log out: Gatehouse's own spans hold no login, user id, address, session id or token", () => {
    const own = spans.filter((span) => span.name.startsWith('gatehouse.'));
    expect(own.length).toBeGreaterThan(10);
    expect(leaks(own)).toEqual([]);
  });

  // KNOWN LEAK (issue 21.1, not fixed yet): the store keys of the session index (u:<userId>:sessions), the
  // per-user generation (g:<userId>), the throttle (throttle:login:acct:<userId>, …:addr:<address>) and the
  // built-in directory (user:name:<login>, user:id:<userId>, whose value holds the login in the clear) reach the
  // drivers' spans (db.query.text, db.postgresql.values). Keyed-MAC key parts fix it; this then passes and
  // `it.fails` must become `it`.
  it.fails("…and the drivers' spans (the Redis and PostgreSQL instrumentations) hold none either", () => {
    expect(spans.some((span) => span.attributes['db.system.name'] === (kind === 'redis' ? 'redis' : 'postgresql') && !span.name.startsWith('gatehouse.'))).toBe(true);
    expect(leaks(spans)).toEqual([]);
  });
});
