import { INVARIANTS, type Invariant } from './ledger.js';
import type { SoakResult } from './redisSoak.js';

const n = (value: number) => value.toLocaleString('en-US');
const s = (ms: number) => `${(ms / 1_000).toFixed(1)} s`;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Whether the run kept every invariant and recovered from every fault. */
export const passed = (result: SoakResult) => result.ledger.violations.length === 0 && result.faults.every((f) => f.recoveredMs !== undefined);

/** The run as text: answers by status, faults, latencies, recovery, and each invariant with its count. */
export function formatResult(result: SoakResult, users: number): string {
  const { ledger, faults } = result;
  const statuses = [...ledger.byOutcome.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([status, count]) => `${status}: ${n(count)}`);
  const calls = [...ledger.byCall.entries()].sort(([, a], [, b]) => b - a).map(([call, count]) => `${call} ${n(count)}`);
  const kinds = new Map<string, number>();
  for (const fault of faults) kinds.set(fault.kind, (kinds.get(fault.kind) ?? 0) + 1);
  const recovered = faults.map((f) => f.recoveredMs).filter((ms): ms is number => ms !== undefined);
  const lines = [
    `== ${result.title}: ${s(result.durationMs)} of faults, ${users} virtual users`,
    `requests: ${n(ledger.requests)} (${statuses.join(' · ')})`,
    `by call: ${calls.join(', ')}`,
    `latency of 200s: p50 ${percentile(ledger.ms200, 50).toFixed(0)} ms, p99 ${percentile(ledger.ms200, 99).toFixed(0)} ms; slowest 503: ${Math.max(0, ...ledger.ms503).toFixed(0)} ms (p99 ${percentile(ledger.ms503, 99).toFixed(0)} ms)`,
    `slowest 503 by call: ${[...ledger.slowest503.entries()].sort(([, a], [, b]) => b - a).map(([call, ms]) => `${call} ${ms.toFixed(0)} ms`).join(', ') || 'none'}`,
    `faults: ${faults.length} (${[...kinds.entries()].map(([kind, count]) => `${kind} ×${count}`).join(', ')})`,
    ...faults.map(
      (f) => `  at ${s(f.at).padStart(7)}  ${f.kind.padEnd(44)} held ${s(f.heldMs).padStart(6)}  serving again ${f.recoveredMs === undefined ? 'NEVER' : `${n(f.recoveredMs)} ms`} after${f.note ? `  (${f.note})` : ''}`,
    ),
    `time to serve again after the store (or process) came back: median ${n(percentile(recovered, 50))} ms, max ${n(Math.max(0, ...recovered))} ms`,
    `acknowledged logins: ${n(ledger.acknowledgedLogins)}; sessions ended by acknowledged actions and probed: ${n(ledger.endedProbes)}; sessions whose state change went unanswered (not judged): ${n(ledger.uncertain)}; sessions checked with the load stopped (after the last fault; SQLite: after each restart): ${n(result.verified)}`,
    'invariants (each must be 0):',
    ...(Object.keys(INVARIANTS) as Invariant[]).map((key) => `  ${ledger.count(key) === 0 ? '✓' : '✗'} ${INVARIANTS[key]}: ${ledger.count(key)}`),
    `  ${faults.every((f) => f.recoveredMs !== undefined) ? '✓' : '✗'} faults after which the service never served again: ${faults.filter((f) => f.recoveredMs === undefined).length}`,
  ];
  for (const violation of ledger.violations.slice(0, 20)) lines.push(`    ✗ at ${s(violation.at)}: ${violation.invariant}: ${violation.detail}`);
  if (ledger.count('serverError') > 0) lines.push('error logs of the Gatehouse processes:', ...result.errorLogs.slice(-20));
  return lines.join('\n');
}
