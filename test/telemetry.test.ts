import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanStatusCode } from '@opentelemetry/api';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../server/index.js';
import { createReferenceApp } from '../server/reference/app.js';
import { StoreUnavailableError, StoreUnconfirmedError } from '../server/store/storeErrors.js';
import { STORE_DURATION_BUCKETS, storeErrorType } from '../server/telemetry/openTelemetry.js';
import { ManualClock } from './helpers/clock.js';
import { errorCode, request, signUp } from './helpers/http.js';
import { testConfig } from './helpers/server.js';
import { type SwitchableStore, switchableStore } from './helpers/switchableStore.js';
import { countOf, histogramCount, metricNamed, parentIdOf, registerTelemetrySdk, type TelemetrySdk } from './helpers/telemetrySdk.js';

const password = 'correct horse battery';
const memoryGet = { 'gatehouse.store.operation': 'get', 'gatehouse.store.backend': 'memory' };

describe('OpenTelemetry: with an SDK registered before createGatehouse', () => {
  let sdk: TelemetrySdk;
  let store: SwitchableStore;
  let gatehouse: Gatehouse;
  let server: Server;
  let url: string;
  const clock = new ManualClock();

  beforeAll(async () => {
    sdk = registerTelemetrySdk();
    store = await switchableStore();
    const built = await createReferenceApp(testConfig({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '2' }), { clock, store: store.store });
    gatehouse = built.gatehouse;
    // What @opentelemetry/instrumentation-http does: every request runs in an active server span.
    built.app.middleware.unshift(sdk.requestSpans());
    server = built.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await gatehouse.close();
    await sdk.shutdown();
  });
  beforeEach(() => {
    store.down = false;
    store.timingOut = false;
    store.unconfirmed = false;
    sdk.spans.reset();
  });

  /** The one request span of this test, and every span of its trace. */
  function requestTrace(): { root: ReadableSpan; spans: ReadableSpan[] } {
    const all = sdk.spans.getFinishedSpans();
    const roots = all.filter((span) => span.name.endsWith(' request'));
    expect(roots).toHaveLength(1);
    const root = roots[0]!;
    const spans = all.filter((span) => span.spanContext().traceId === root.spanContext().traceId);
    expect(spans.length).toBe(all.length);
    return { root, spans };
  }
  const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
  const delta = async <T>(act: () => Promise<T>): Promise<{ before: MetricData[]; after: MetricData[]; result: T }> => {
    const before = await sdk.collect();
    const result = await act();
    return { before, after: await sdk.collect(), result };
  };
  const increase = (d: { before: MetricData[]; after: MetricData[] }, name: string, attributes: Record<string, string> = {}) =>
    countOf(d.after, name, attributes) - countOf(d.before, name, attributes);

  it('a login: attempt success, a session started; password verified and store operations in spans under the request span', async () => {
    await signUp(url, 'otel-login');
    sdk.spans.reset();
    const d = await delta(() => request(`${url}/trpc/auth.login`, { body: { username: 'otel-login', password } }));
    expect(d.result.status).toBe(200);
    expect(increase(d, 'gatehouse.login.attempts', { 'gatehouse.outcome': 'success' })).toBe(1);
    expect(increase(d, 'gatehouse.session.started')).toBe(1);
    expect(metricNamed(d.after, 'gatehouse.login.attempts').descriptor.unit).toBe('{attempt}');
    expect(metricNamed(d.after, 'gatehouse.session.started').descriptor.unit).toBe('{session}');

    const duration = metricNamed(d.after, 'gatehouse.store.operation.duration');
    expect(duration.descriptor.unit).toBe('s');
    const point = (duration.dataPoints as DataPoint<Histogram>[])[0]!;
    expect(point.value.buckets.boundaries).toEqual(STORE_DURATION_BUCKETS);

    const { root, spans } = requestTrace();
    const verify = named(spans, 'gatehouse.password.verify');
    expect(verify).toHaveLength(1);
    expect(parentIdOf(verify[0]!)).toBe(root.spanContext().spanId);
    const storeSpans = spans.filter((span) => span.name.startsWith('gatehouse.store.'));
    expect(storeSpans.length).toBeGreaterThan(2);
    for (const span of storeSpans) {
      expect(span.attributes['gatehouse.store.backend']).toBe('memory');
      expect(span.name).toBe(`gatehouse.store.${String(span.attributes['gatehouse.store.operation'])}`);
      expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
    }
    // The session was started by the procedure: no session was presented, so nothing was loaded.
    expect(named(spans, 'gatehouse.session.load')).toEqual([]);
  });

  it('a wrong password: attempt wrong_password, and the third a throttle refusal by account', async () => {
    await signUp(url, 'otel-wrong');
    const d = await delta(async () => {
      const first = await request(`${url}/trpc/auth.login`, { body: { username: 'otel-wrong', password: 'not the password' } });
      await request(`${url}/trpc/auth.login`, { body: { username: 'otel-wrong', password: 'not the password' } });
      const third = await request(`${url}/trpc/auth.login`, { body: { username: 'otel-wrong', password: 'not the password' } });
      return [first.status, third.status];
    });
    expect(d.result).toEqual([401, 429]);
    expect(increase(d, 'gatehouse.login.attempts', { 'gatehouse.outcome': 'wrong_password' })).toBe(2);
    expect(increase(d, 'gatehouse.login.attempts', { 'gatehouse.outcome': 'throttled' })).toBe(1);
    expect(increase(d, 'gatehouse.throttle.refusals', { 'gatehouse.reason': 'account' })).toBe(1);
  });

  it('a read: the session load span under the request span, the store get under it; a due idle extension in a commit span', async () => {
    const cookie = await signUp(url, 'otel-read');
    sdk.spans.reset();
    const d = await delta(() => request(`${url}/trpc/data`, { cookie }));
    expect(d.result.status).toBe(200);
    expect(histogramCount(d.after, 'gatehouse.store.operation.duration', memoryGet) - histogramCount(d.before, 'gatehouse.store.operation.duration', memoryGet)).toBe(1);
    const { root, spans } = requestTrace();
    const load = named(spans, 'gatehouse.session.load');
    expect(load).toHaveLength(1);
    expect(parentIdOf(load[0]!)).toBe(root.spanContext().spanId);
    const get = named(spans, 'gatehouse.store.get');
    expect(get).toHaveLength(1);
    expect(parentIdOf(get[0]!)).toBe(load[0]!.spanContext().spanId);
    expect(get[0]!.attributes).toEqual(memoryGet);
    // Nothing to write on a read within the touch interval: no commit span.
    expect(named(spans, 'gatehouse.session.commit')).toEqual([]);

    clock.advance(61_000);
    sdk.spans.reset();
    expect((await request(`${url}/trpc/data`, { cookie })).status).toBe(200);
    const later = requestTrace();
    const commit = named(later.spans, 'gatehouse.session.commit');
    expect(commit).toHaveLength(1);
    expect(parentIdOf(commit[0]!)).toBe(later.root.spanContext().spanId);
    const writes = later.spans.filter((span) => parentIdOf(span) === commit[0]!.spanContext().spanId);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((span) => span.name.startsWith('gatehouse.store.'))).toBe(true);
  });

  it('a read whose request was not sampled: no Gatehouse span at all, the metrics as ever', async () => {
    const cookie = await signUp(url, 'otel-unsampled');
    sdk.spans.reset();
    const d = await delta(() => request(`${url}/trpc/data`, { cookie, headers: { 'x-test-unsampled': '1' } }));
    expect(d.result.status).toBe(200);
    expect(sdk.spans.getFinishedSpans()).toEqual([]);
    expect(histogramCount(d.after, 'gatehouse.store.operation.duration', memoryGet) - histogramCount(d.before, 'gatehouse.store.operation.duration', memoryGet)).toBe(1);
  });

  it('a logout: a session ended with reason logout', async () => {
    const cookie = await signUp(url, 'otel-logout');
    const d = await delta(() => request(`${url}/trpc/auth.logout`, { cookie, body: {} }));
    expect(d.result.status).toBe(200);
    expect(increase(d, 'gatehouse.session.ended', { 'gatehouse.reason': 'logout' })).toBe(1);
    expect(metricNamed(d.after, 'gatehouse.session.ended').descriptor.unit).toBe('{session}');
  });

  it('a store outage: store errors, a 503 counted once, a login attempt store_unavailable; spans in error with the safe message only', async () => {
    const cookie = await signUp(url, 'otel-outage');
    sdk.spans.reset();
    store.down = true;
    const d = await delta(() => request(`${url}/trpc/data`, { cookie }));
    expect(d.result.status).toBe(503);
    expect(errorCode(d.result)).toBe('SERVICE_UNAVAILABLE');
    const failedGet = { ...memoryGet, 'error.type': 'unavailable' };
    expect(increase(d, 'gatehouse.store.errors', failedGet)).toBe(1);
    expect(histogramCount(d.after, 'gatehouse.store.operation.duration', failedGet) - histogramCount(d.before, 'gatehouse.store.operation.duration', failedGet)).toBe(1);
    expect(increase(d, 'gatehouse.responses.unavailable')).toBe(1);

    const { spans } = requestTrace();
    const get = named(spans, 'gatehouse.store.get')[0]!;
    expect(get.status).toEqual({ code: SpanStatusCode.ERROR, message: 'The session store is unavailable. Try again in a moment.' });
    expect(get.attributes['error.type']).toBe('unavailable');
    expect(get.events.map((event) => [event.name, event.attributes?.['exception.message']])).toEqual([
      ['exception', 'The session store is unavailable. Try again in a moment.'],
    ]);
    expect(named(spans, 'gatehouse.session.load')[0]!.status.code).toBe(SpanStatusCode.ERROR);
    // The driver's text (an address) never reaches a span.
    expect(JSON.stringify(spans.map((span) => [span.name, span.attributes, span.events, span.status]))).not.toMatch(/ECONNREFUSED|10\.0\.0\.5/);

    const login = await delta(() => request(`${url}/trpc/auth.login`, { body: { username: 'otel-outage', password } }));
    expect(login.result.status).toBe(503);
    expect(increase(login, 'gatehouse.login.attempts', { 'gatehouse.outcome': 'store_unavailable' })).toBe(1);
    expect(increase(login, 'gatehouse.responses.unavailable')).toBe(1);
  });

  it('a store that misses its deadline: error.type timeout', async () => {
    const cookie = await signUp(url, 'otel-timeout');
    store.down = true;
    store.timingOut = true;
    const d = await delta(() => request(`${url}/trpc/data`, { cookie }));
    expect(d.result.status).toBe(503);
    expect(increase(d, 'gatehouse.store.errors', { ...memoryGet, 'error.type': 'timeout' })).toBe(1);
    expect(increase(d, 'gatehouse.store.errors', { ...memoryGet, 'error.type': 'unavailable' })).toBe(0);
  });

  it('a durable write its replicas did not confirm: error.type unconfirmed, not unavailable or timeout; the span says "not confirmed"', async () => {
    const cookie = await signUp(url, 'otel-unconfirmed');
    sdk.spans.reset();
    store.unconfirmed = true;
    const d = await delta(() => request(`${url}/trpc/auth.logout`, { cookie, body: {} }));
    expect(d.result.status).toBe(503);
    const memoryTake = { 'gatehouse.store.operation': 'take', 'gatehouse.store.backend': 'memory' };
    expect(increase(d, 'gatehouse.store.errors', { ...memoryTake, 'error.type': 'unconfirmed' })).toBe(1);
    for (const other of ['unavailable', 'timeout', '_OTHER']) expect(increase(d, 'gatehouse.store.errors', { ...memoryTake, 'error.type': other })).toBe(0);
    const { spans } = requestTrace();
    const failed = spans.filter((span) => span.name.startsWith('gatehouse.store.') && span.attributes['error.type'] !== undefined);
    expect(failed.map((span) => [span.name, span.attributes['error.type'], span.status.message])).toEqual([
      [
        'gatehouse.store.take',
        'unconfirmed',
        'Not confirmed: the change was made, but the session store could not confirm in time that it will survive a failover. Try again in a moment.',
      ],
    ]);
  });

  it('every attribute of every metric is from a closed set: no user, login, session id or address', async () => {
    const all = await sdk.collect();
    const allowed = new Set(['gatehouse.reason', 'gatehouse.outcome', 'gatehouse.store.operation', 'gatehouse.store.backend', 'db.system.name', 'error.type']);
    for (const metric of all) {
      expect(metric.descriptor.name.startsWith('gatehouse.'), metric.descriptor.name).toBe(true);
      for (const point of metric.dataPoints as DataPoint<unknown>[]) {
        for (const key of Object.keys(point.attributes)) expect(allowed.has(key), `${metric.descriptor.name} ${key}`).toBe(true);
        expect(JSON.stringify(point.attributes)).not.toMatch(/otel-|127\.0\.0\.1/);
      }
    }
  });
});

describe('error.type takes one of four values, never an error’s own name or message', () => {
  it('unconfirmed, timeout, unavailable, and _OTHER (OpenTelemetry’s value for an unknown type) for anything else', () => {
    const errors = [
      new StoreUnconfirmedError('delete', 0, 2),
      new StoreUnavailableError('get', { timedOut: true }),
      new StoreUnavailableError('get', { cause: new Error('connect ECONNREFUSED') }),
      new TypeError("Cannot read properties of undefined (reading 'x')"),
      Object.assign(new Error('READONLY'), { name: 'ReplyError' }),
      'a string thrown',
      undefined,
    ];
    expect(errors.map(storeErrorType)).toEqual(['unconfirmed', 'timeout', 'unavailable', '_OTHER', '_OTHER', '_OTHER', '_OTHER']);
  });
});
