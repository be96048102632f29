import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../server/index.js';
import { request, signUp } from './helpers/http.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text exposition format: `# TYPE name kind` lines and `name{label="value",…} number` samples. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!sample) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

describe('the reference server with METRICS_PORT: a Prometheus endpoint on a port of its own', () => {
  let srv: ServerProcess;
  let metricsUrl: string;
  beforeAll(async () => {
    srv = await startServerProcess({ SESSION_STORE_URL: 'memory://', METRICS_PORT: '0' });
    const line = srv
      .output()
      .split('\n')
      .find((text) => text.includes('"metrics.listening"'));
    metricsUrl = (JSON.parse(line!) as { url: string }).url;
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('binds to loopback by default, on another port than the public one', () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(metricsUrl).port).not.toBe(new URL(srv.url).port);
  });

  it('after a sign-up, a login and a read, the scrape shows the instruments with the names Prometheus gives them', async () => {
    const cookie = await signUp(srv.url, 'metrics-user');
    expect((await request(`${srv.url}/trpc/auth.login`, { body: { username: 'metrics-user', password: 'correct horse battery' } })).status).toBe(200);
    expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(200);

    const scrape = await fetch(metricsUrl);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain/);
    const { types, samples } = parseExposition(await scrape.text());

    expect(types.get('gatehouse_store_operation_duration_seconds')).toBe('histogram');
    const getBuckets = samples.filter(
      (sample) =>
        sample.name === 'gatehouse_store_operation_duration_seconds_bucket' && sample.labels['gatehouse_store_operation'] === 'get' && sample.labels['gatehouse_store_backend'] === 'memory',
    );
    expect(getBuckets.map((sample) => sample.labels['le'])).toEqual(['0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf']);
    expect(getBuckets.at(-1)!.value).toBeGreaterThanOrEqual(1);

    expect(types.get('gatehouse_login_attempts_total')).toBe('counter');
    expect(samples).toContainEqual({ name: 'gatehouse_login_attempts_total', labels: { gatehouse_outcome: 'success' }, value: 1 });
    // Registration and login each started one.
    expect(samples).toContainEqual({ name: 'gatehouse_session_started_total', labels: {}, value: 2 });
    expect(samples.some((sample) => sample.name === 'gatehouse_store_operation_duration_seconds_count')).toBe(true);
  });

  it('the public port has no /metrics, and /healthz is unchanged', async () => {
    const onPublic = await request(`${srv.url}/metrics`);
    expect(onPublic.status).toBe(404);
    expect(onPublic.body).not.toContain('gatehouse_');
    const health = await request(`${srv.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok', store: 'memory' });
  });

  it('the metrics port answers nothing but GET /metrics', async () => {
    expect((await fetch(new URL('/', metricsUrl))).status).toBe(404);
    expect((await fetch(new URL('/trpc/data', metricsUrl))).status).toBe(404);
  });
});

describe('METRICS_PORT misused', () => {
  it('the same port as PORT is refused at start, naming the fix', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', PORT: '9464', METRICS_PORT: '9464' })).toThrow(
      'METRICS_PORT must differ from PORT: the metrics endpoint has a port of its own, never the public one',
    );
  });
  it('a port that is not a number is refused at start', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', METRICS_PORT: 'prometheus' })).toThrow('METRICS_PORT must be a number');
  });
  it('unset (or empty), there is no endpoint', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).metrics).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'test', METRICS_PORT: '' }).metrics).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'test', METRICS_PORT: '9464' }).metrics).toEqual({ port: 9464, host: '127.0.0.1' });
  });
});
