/**
 * What versions before the native stores wrote through Keyv: every value
 * inside Keyv's JSON wrapper `{"value":…,"expires":…}` (expires in epoch
 * ms, absent or null when it never expires), strings that start with ":"
 * escaped with one more ":" (@keyv/serialize), and on SQLite a map as one
 * value holding `{"<field>":{"v":"<value>","exp":<epoch ms>}, …}`. Read
 * when an upgraded store meets such rows, never written.
 */

/** Every legacy wrapper starts so; anything else is a value as it is. */
export const KEYV_WRAPPED = '{"value":';

export interface LegacyValue {
  readonly value: string;
  /** Epoch ms; `undefined` when it never expires. */
  readonly expires: number | undefined;
}

export interface LegacyField {
  readonly field: string;
  readonly value: string;
  readonly expires: number;
}

/** A legacy row, decoded: a plain value, a map, or nothing usable (garbage or expired at `now`). */
export type LegacyRow = { kind: 'value'; entry: LegacyValue } | { kind: 'map'; fields: LegacyField[] } | undefined;

/** The wrapped value in `raw`, or `undefined` when `raw` is not Keyv's wrapper around a string. Expiry is not checked. */
export function unwrapKeyv(raw: string): LegacyValue | undefined {
  if (!raw.startsWith(KEYV_WRAPPED)) return undefined;
  let parsed: { value?: unknown; expires?: unknown };
  try {
    parsed = JSON.parse(raw) as typeof parsed;
  } catch {
    return undefined;
  }
  if (typeof parsed.value !== 'string') return undefined;
  // @keyv/serialize stores ":x" as "::x" (a leading ":" marks its own encodings).
  const value = parsed.value.startsWith(':') ? parsed.value.slice(1) : parsed.value;
  return { value, expires: typeof parsed.expires === 'number' ? parsed.expires : undefined };
}

/** Decodes one row of Keyv's table for migration; expired values and fields are dropped. */
export function decodeLegacyRow(raw: string, now: number): LegacyRow {
  const entry = unwrapKeyv(raw);
  if (!entry || (entry.expires !== undefined && entry.expires <= now)) return undefined;
  const fields = legacyMapFields(entry.value);
  if (!fields) return { kind: 'value', entry };
  const live = fields.filter((field) => field.expires > now);
  return live.length > 0 ? { kind: 'map', fields: live } : undefined;
}

/**
 * The fields of a map the Keyv-based store wrote as one JSON value, or
 * `undefined` when the value is not such a map. Strict (a non-empty object
 * whose every entry is exactly `{v: string, exp: number}`): no value
 * Gatehouse stores (sealed records, accounts, counters) has that shape.
 */
function legacyMapFields(value: string): LegacyField[] | undefined {
  if (!value.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length === 0) return undefined;
  const fields: LegacyField[] = [];
  for (const [field, entry] of entries) {
    if (!entry || typeof entry !== 'object' || Object.keys(entry).length !== 2) return undefined;
    const { v, exp } = entry as { v?: unknown; exp?: unknown };
    if (typeof v !== 'string' || typeof exp !== 'number') return undefined;
    fields.push({ field, value: v, expires: exp });
  }
  return fields;
}
