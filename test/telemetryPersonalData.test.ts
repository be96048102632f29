import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverSpansOf, instrumentedBackends, leaksIn, type PersonalDataRun, personalDataRun } from './helpers/personalDataFlow.js';
import { registerTelemetrySdk, type TelemetrySdk } from './helpers/telemetrySdk.js';

// The SDK and the drivers' instrumentations first, before any driver is loaded (Gatehouse loads its driver when
// the store opens), with their defaults, and PostgreSQL's query parameters too (enhancedDatabaseReporting):
// what a team turns on, and what a store dump shows.
const sdk: TelemetrySdk = registerTelemetrySdk();
registerInstrumentations({ instrumentations: [new RedisInstrumentation(), new PgInstrumentation({ enhancedDatabaseReporting: true })] });
afterAll(() => sdk.shutdown());

describe.each(instrumentedBackends)('no personal data in exported spans, with the %s instrumentation on', (kind, url) => {
  let run: PersonalDataRun;
  beforeAll(async () => {
    run = await personalDataRun(sdk, kind, url);
  });

  it("register, log in staying signed in, fail a login, read, resume from the device credential, a bearer login and read, a password change, revoke the others, log out: Gatehouse's own spans hold no login, user id, address, session id or token", () => {
    const own = run.spans.filter((span) => span.name.startsWith('gatehouse.'));
    expect(own.length).toBeGreaterThan(10);
    expect(leaksIn(own, run.secrets)).toEqual([]);
  });

  it("Gatehouse's store spans name the database system, and each driver span sits under one of them", () => {
    const storeSpans = run.spans.filter((span) => span.name.startsWith('gatehouse.store.'));
    expect(storeSpans.length).toBeGreaterThan(5);
    for (const span of storeSpans) expect(span.attributes['db.system.name']).toBe(kind === 'redis' ? 'redis' : 'postgresql');
    const storeSpanIds = new Set(storeSpans.map((span) => span.spanContext().spanId));
    // Commands sent by Gatehouse's store operations (not the pool's or client's own connection set-up).
    const commands = driverSpansOf(run.spans, kind).filter((span) => !/connect/i.test(span.name));
    expect(commands.length).toBeGreaterThan(5);
    for (const span of commands) expect(storeSpanIds.has(span.parentSpanContext?.spanId ?? ''), span.name).toBe(true);
  });

  // KNOWN LEAK (issue 21.1, not fixed yet): the store keys of the session index (u:<userId>:sessions), the
  // per-user generation (g:<userId>), the throttle (throttle:login:acct:<userId>, …:addr:<address>) and the
  // built-in directory (user:name:<login>, user:id:<userId>) reach the drivers' spans (db.query.text,
  // db.postgresql.values). Keyed-MAC key parts fix it; this then passes, and `it.fails` must become `it`.
  it.fails("…and the drivers' spans, with their instrumentations' defaults, hold none either", () => {
    expect(driverSpansOf(run.spans, kind).length).toBeGreaterThan(0);
    expect(leaksIn(run.spans, run.secrets)).toEqual([]);
  });
});
