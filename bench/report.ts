import type { LoadResult } from './measure.js';
import { median, range } from './stats.js';

export type Run = LoadResult & { cpuMicros: number };

export interface StackRows {
  read: Run[];
  create: Run[];
}

export interface Report {
  date: string;
  machine: string;
  node: string;
  command: string;
  pinning: string;
  settings: { rounds: number; seconds: number; warmupSeconds: number; bytesSessions: number; scaleSmall: number; scaleLarge: number; hashes: number };
  hashMs: number;
  rows: Map<string, StackRows>;
  baseline: { bareKoa: string; koaSession: string; plainTrpc: string; shipped: string; shippedBearer: string };
  bytes: { stack: string; measure: string; bytes: number }[];
  scale: { sessions: number; runs: Run[] }[];
  notes: string[];
  elapsedSeconds: number;
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n: number) => (Number.isFinite(n) ? `${n}` : 'n/a');
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');

/** Median over rounds of this stack's req/s divided by the baseline's req/s of the same round. */
function sameRoundRatio(runs: Run[], baseline: Run[] | undefined): number {
  if (!baseline) return NaN;
  const ratios = runs.map((run, i) => run.rps / (baseline[i]?.rps ?? NaN)).filter(Number.isFinite);
  return ratios.length ? median(ratios) : NaN;
}

function table(report: Report, workload: 'read' | 'create'): string {
  const bareKoa = report.rows.get(report.baseline.bareKoa)?.[workload];
  const koaSession = report.rows.get(report.baseline.koaSession)?.[workload];
  const plainTrpc = report.rows.get(report.baseline.plainTrpc)?.[workload];
  const lines = [
    '| stack | req/s median | range | p50 ms | p99 ms | × bare Koa | × koa-session | × plain tRPC | server CPU µs/req | bad answers |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, rows] of report.rows) {
    const runs = rows[workload].filter(Boolean);
    if (runs.length === 0) continue;
    const [low, high] = range(runs.map((r) => r.rps));
    lines.push(
      `| ${name} | ${int(median(runs.map((r) => r.rps)))} | ${int(low)}–${int(high)} | ${ms(median(runs.map((r) => r.p50)))} | ${ms(median(runs.map((r) => r.p99)))} | ${ratio(sameRoundRatio(runs, bareKoa))} | ${ratio(sameRoundRatio(runs, koaSession))} | ${ratio(sameRoundRatio(runs, plainTrpc))} | ${int(median(runs.map((r) => r.cpuMicros)))} | ${runs.reduce((sum, r) => sum + r.bad, 0)} |`,
    );
  }
  return lines.join('\n');
}

/** Median over rounds of this run's CPU per request divided by the baseline's of the same round. */
function sameRoundCpuRatio(runs: Run[], baseline: Run[] | undefined): number {
  if (!baseline) return NaN;
  const ratios = runs.map((run, i) => run.cpuMicros / (baseline[i]?.cpuMicros ?? NaN)).filter(Number.isFinite);
  return ratios.length ? median(ratios) : NaN;
}

interface Target {
  measure: string;
  value: number;
  /** The cost side of the same comparison (CPU per request, this over that), when there is one. */
  cpu?: number;
  goal: string;
  met: boolean | undefined;
}

/** The targets, as ratios between stacks measured in the same rounds of this run. */
export function targets(report: Report): Target[] {
  const rows = (name: string, workload: 'read' | 'create') => report.rows.get(name)?.[workload].filter(Boolean);
  const out: Target[] = [];
  const compare = (measure: string, a: string, b: string, workload: 'read' | 'create', goal: number) => {
    const runs = rows(a, workload);
    const base = rows(b, workload);
    if (!runs?.length || !base?.length) return;
    const value = sameRoundRatio(runs, base);
    out.push({ measure, value, cpu: sameRoundCpuRatio(runs, base), goal: `≥ ${goal.toFixed(2)}×`, met: Number.isFinite(value) ? value >= goal : undefined });
  };
  compare('SQLite ÷ memory, authenticated reads (req/s)', 'Gatehouse, SQLite', 'Gatehouse, memory', 'read', 0.9);
  compare('SQLite ÷ memory, session creation (req/s)', 'Gatehouse, SQLite', 'Gatehouse, memory', 'create', 0.7);
  compare('memory ÷ koa-session, authenticated reads (req/s)', 'Gatehouse, memory', report.baseline.koaSession, 'read', 1.0);
  compare('shipped server (npm start, memory) ÷ koa-session, authenticated reads (req/s)', report.baseline.shipped, report.baseline.koaSession, 'read', 1.1);
  const bearer = rows(report.baseline.shippedBearer, 'read');
  const cookie = rows(report.baseline.shipped, 'read');
  if (bearer?.length && cookie?.length) {
    out.push({ measure: 'bearer ÷ cookie read, shipped server (req/s)', value: sameRoundRatio(bearer, cookie), cpu: sameRoundCpuRatio(bearer, cookie), goal: 'reported (the same session, another carrier)', met: undefined });
  }
  const small = report.scale.find((r) => r.sessions === report.settings.scaleSmall);
  const large = report.scale.find((r) => r.sessions === report.settings.scaleLarge);
  if (small && large) {
    const value = sameRoundCpuRatio(large.runs, small.runs);
    out.push({
      measure: `CPU per read, ${int(report.settings.scaleLarge)} ÷ ${int(report.settings.scaleSmall)} sessions stored (memory)`,
      value,
      goal: '≤ 1.10×',
      met: Number.isFinite(value) ? value <= 1.1 : undefined,
    });
  }
  const redis = report.bytes.find((b) => b.stack === 'Gatehouse, Redis');
  if (redis) out.push({ measure: 'Redis bytes per session (INFO used_memory)', value: redis.bytes, goal: 'as low as the design allows (see bench/PROFILE.md)', met: undefined });
  return out;
}

function targetTable(report: Report): string {
  const lines = ['| measure | this run | server CPU per request, same ratio | target | met |', '|---|---:|---:|---|---|'];
  for (const t of targets(report)) {
    const value = t.measure.startsWith('Redis bytes') ? int(t.value) : ratio(t.value);
    const cpu = t.cpu === undefined ? '' : ratio(t.cpu);
    lines.push(`| ${t.measure} | ${value} | ${cpu} | ${t.goal} | ${t.met === undefined ? '' : t.met ? 'yes' : 'no'} |`);
  }
  return lines.join('\n');
}

export function renderReport(report: Report): string {
  const s = report.settings;
  const out = [
    '# Gatehouse benchmark results',
    '',
    `- Date: ${report.date}`,
    `- Machine: ${report.machine}; Node ${report.node}`,
    `- Command: \`${report.command}\` (${report.elapsedSeconds.toFixed(0)} s)`,
    `- Load: autocannon, 50 connections, loopback; ${s.rounds} interleaved rounds of ${s.seconds} s per stack and workload after a discarded ${s.warmupSeconds} s warm-up; ${report.pinning}.`,
    '- Ratios are medians of per-round ratios (each stack against the baseline measured in the same round). "server CPU µs/req" is the server process\'s user+system CPU time divided by the requests it answered, which depends less on machine load than req/s.',
    '',
    '## Targets (issues 12 and 21), ratios from this run',
    '',
    targetTable(report),
    '',
    'Ratios of req/s are the median of per-round ratios; the CPU column is the same for server CPU per request (below 1× means cheaper). The 1M ÷ 1k line compares CPU per read.',
    '',
    '## Authenticated read (GET with a valid session cookie)',
    '',
    table(report, 'read'),
    '',
    '## Session creation (login without the password hash; new session per request)',
    '',
    'Each request creates a session for one of 10,000 users, cycled (same payloads for every stack).',
    '',
    table(report, 'create'),
    '',
    `## Password hash cost (reported separately)`,
    '',
    `argon2id (19 MiB, t=2, p=1), in the load-generator process: **${report.hashMs.toFixed(1)} ms per hash** (mean of ${s.hashes}). A real login adds one verify of about this cost per request.`,
    '',
  ];
  if (report.bytes.length) {
    out.push(`## Bytes per session (after ${int(s.bytesSessions)} sessions, each for its own user, seeded through the store API)`, '');
    out.push('| stack | measured by | bytes per session |', '|---|---|---:|');
    for (const b of report.bytes) out.push(`| ${b.stack} | ${b.measure} | ${int(b.bytes)} |`);
    out.push('');
  }
  if (report.scale.length) {
    out.push('## Authenticated read vs sessions stored (Gatehouse, memory store)', '');
    out.push('| sessions stored | req/s median | range | p99 ms | server CPU µs/req |', '|---:|---:|---|---:|---:|');
    for (const row of report.scale) {
      const [low, high] = range(row.runs.map((r) => r.rps));
      out.push(`| ${int(row.sessions)} | ${int(median(row.runs.map((r) => r.rps)))} | ${int(low)}–${int(high)} | ${ms(median(row.runs.map((r) => r.p99)))} | ${int(median(row.runs.map((r) => r.cpuMicros)))} |`);
    }
    out.push('');
  }
  if (report.notes.length) out.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
