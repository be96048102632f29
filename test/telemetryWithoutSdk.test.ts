import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTelemetry } from '../server/telemetry/loadTelemetry.js';
import { NO_TELEMETRY } from '../server/telemetry/telemetry.js';
import { request, sessionCookie } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';
import { run } from './helpers/run.js';
import { registerTelemetrySdk, type TelemetrySdk } from './helpers/telemetrySdk.js';

// Its own file: vitest runs each file in its own process, so no other suite's SDK is registered here.
describe('OpenTelemetry: @opentelemetry/api installed, no SDK registered', () => {
  let srv: TestServer;
  let sdk: TelemetrySdk | undefined;
  beforeAll(async () => {
    srv = await startServer();
  });
  afterAll(async () => {
    await srv.close();
    await sdk?.shutdown();
  });

  it('Gatehouse takes no telemetry at all: nothing is wrapped, not even with the API no-ops', async () => {
    expect(await loadTelemetry()).toBe(NO_TELEMETRY);
  });

  it('sign-up, read and logout work, and an SDK registered afterwards receives nothing from them', async () => {
    const signUp = await request(`${srv.url}/trpc/auth.register`, { body: { username: 'no-sdk', password: 'correct horse battery' } });
    expect(signUp.status).toBe(200);
    const cookie = sessionCookie(signUp);
    sdk = registerTelemetrySdk();
    expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(200);
    expect((await request(`${srv.url}/trpc/auth.login`, { body: { username: 'no-sdk', password: 'wrong password!' } })).status).toBe(401);
    expect((await request(`${srv.url}/trpc/auth.logout`, { cookie, body: {} })).status).toBe(200);
    expect(sdk.spans.getFinishedSpans()).toEqual([]);
    expect(await sdk.collect()).toEqual([]);
  });
});

describe('OpenTelemetry: @opentelemetry/api not installed (an optional peer)', () => {
  it('Gatehouse starts, with its own users and with the built-in accounts (the import fails, nothing is reported)', async () => {
    for (const scenario of ['own-users', 'built-in']) {
      const result = await run(process.execPath, ['--import', 'tsx', 'test/helpers/startWithoutPackage.ts', '@opentelemetry/api', scenario]);
      expect(result.stdout.trim(), scenario).toBe('started');
      expect(result.code, scenario).toBe(0);
    }
  });
});
