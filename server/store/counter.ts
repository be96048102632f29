import type { Counter } from './keyValueStore.js';

/** A counter's stored entry outlives its window by this much: the caller's clock decides, the TTL only cleans up. */
export const COUNTER_TTL_SLACK_MS = 60_000;

/** `<count>|<expiresAt>`: the one representation every backend stores (Lua and SQL parse it too). */
export const encodeCounter = (counter: Counter): string => `${counter.count}|${counter.expiresAt}`;

/** What `addToCounter` resolves when it wrote nothing (a `delta <= 0` on a missing or ended counter). */
export const NO_COUNTER: Counter = Object.freeze({ count: 0, expiresAt: 0 });

/** The live counter in `raw`, or `undefined` when it is missing, malformed or its window ended at `nowMs`. */
export function parseCounter(raw: string | undefined, nowMs: number): Counter | undefined {
  if (raw === undefined) return undefined;
  const bar = raw.indexOf('|');
  if (bar <= 0) return undefined;
  const count = Number(raw.slice(0, bar));
  const expiresAt = Number(raw.slice(bar + 1));
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(expiresAt)) return undefined;
  if (expiresAt > 0 && expiresAt <= nowMs) return undefined;
  return { count, expiresAt };
}

/**
 * `KeyValueStore.addToCounter`'s rule for stores that read and write in one
 * critical section (memory, a SQLite transaction): the counter after adding
 * `delta` to `current`, or `undefined` when nothing is to be written.
 */
export function nextCounter(current: Counter | undefined, delta: number, nowMs: number, windowMs: number): Counter | undefined {
  if (current) return { count: current.count + delta, expiresAt: current.expiresAt };
  if (delta <= 0) return undefined;
  return { count: delta, expiresAt: windowMs > 0 ? nowMs + windowMs : 0 };
}

/** The TTL to store `counter` with at `nowMs`: its window plus the slack, or 0 (kept) when its window never ends. */
export const counterTtlMs = (counter: Counter, nowMs: number): number =>
  counter.expiresAt > 0 ? counter.expiresAt - nowMs + COUNTER_TTL_SLACK_MS : 0;

/** The integer `increment` keeps at a key (missing or unreadable: 0). */
export function parseInteger(raw: string | undefined): number {
  const value = raw === undefined ? 0 : Number(raw);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}
