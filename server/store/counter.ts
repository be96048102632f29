import type { Counter } from './keyValueStore.js';

/** A counter's stored entry outlives its window by this much: the caller's clock decides, the TTL only cleans up. */
export const COUNTER_TTL_SLACK_MS = 60_000;

/** `<count>|<expiresAt>`: the one representation every backend stores (Lua and SQL parse it too). */
export const encodeCounter = (counter: Counter): string => `${counter.count}|${counter.expiresAt}`;

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
