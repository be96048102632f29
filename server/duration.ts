const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Parses a duration: plain seconds (`1800`) or a number with a unit
 * (`500ms`, `30s`, `30m`, `12h`, `7d`). Returns milliseconds, or `undefined`
 * when the text is not a positive duration.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = (match[2] ?? 's') as keyof typeof UNIT_MS;
  const ms = Math.round(amount * UNIT_MS[unit]);
  return ms > 0 ? ms : undefined;
}

/**
 * A duration option: milliseconds as a number, or a string with a unit
 * (`'30m'`). Returns milliseconds, or the message saying what is wrong (a
 * bare number in a string is ambiguous: seconds or milliseconds?).
 */
export function parseDurationOption(value: number | string): number | string {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value > 0 ? Math.round(value) : `must be a positive number of milliseconds or a string like '30m', got ${value}`;
  }
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(value)) return `must name its unit: '${value.trim()}s' or '${value.trim()}ms' (or pass a number of milliseconds)`;
  return parseDuration(value) ?? `must be a positive duration like '500ms', '30s', '30m', '12h' or '7d', got "${value}"`;
}
