import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverSpansOf, instrumentedBackends, leaksIn, type PersonalDataRun, personalDataRun } from './helpers/personalDataFlow.js';
import { registerTelemetrySdk, type TelemetrySdk } from './helpers/telemetrySdk.js';

// What the README advises until store keys are MACed: Redis commands without their arguments, PostgreSQL
// without its query parameters (the instrumentation's default).
const sdk: TelemetrySdk = registerTelemetrySdk();
registerInstrumentations({ instrumentations: [new RedisInstrumentation({ dbStatementSerializer: (command) => command }), new PgInstrumentation()] });
afterAll(() => sdk.shutdown());

describe.each(instrumentedBackends)('the README advice for the %s instrumentation', (kind, url) => {
  let run: PersonalDataRun;
  beforeAll(async () => {
    run = await personalDataRun(sdk, kind, url);
  });

  it('register, log in, fail a login, read, revoke the others, log out: no span at all holds a login, user id, address, session id or token', () => {
    expect(driverSpansOf(run.spans, kind).length).toBeGreaterThan(10);
    expect(leaksIn(run.spans, run.secrets)).toEqual([]);
  });
});
