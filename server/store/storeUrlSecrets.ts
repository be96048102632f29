/** A part of a URL's text: from `start` up to (not including) `end`. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** `scheme:` as RFC 3986 spells it. */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
/** `?password=`, `&sentinelPassword=`, `&sslpassword=`, `?pass=`, `?pwd=`, `?secret=`, `?token=`, `?auth=`, `?access_token=` … */
const SECRET_PARAM = /[?&#;][a-z0-9_.-]*(?:pass|pwd|secret|token|auth)[a-z0-9_.-]*=/gi;

/** Where the part after `scheme://` begins, or `undefined` when the text does not start that way. */
function authorityStart(url: string): number | undefined {
  const scheme = SCHEME.exec(url)?.[0];
  return scheme !== undefined && url.startsWith('//', scheme.length) ? scheme.length + 2 : undefined;
}

/**
 * The user info of a store URL: everything between `scheme://` and the
 * *last* "@", even when it holds "/", "?" or "#". A password with an
 * unencoded "@", "/", "?" or "#" is still user info whole, never a host,
 * a path or a query to print. `undefined` when there is no "@".
 *
 * @example userInfoOf('postgres://app:pa/ss@db/app') // 'app:pa/ss'
 */
export function userInfoOf(url: string): string | undefined {
  const start = authorityStart(url);
  const at = url.lastIndexOf('@');
  return start === undefined || at < start ? undefined : url.slice(start, at);
}

/**
 * User info holding "/", "?" or "#": a URL parser (the drivers') ends the
 * host there, so it would connect to a piece of the password and quote it
 * in its errors as a host, a database or a parameter.
 */
export const hasAmbiguousUserInfo = (url: string): boolean => /[/?#]/.test(userInfoOf(url) ?? '');

/** What `hasAmbiguousUserInfo` finds, and the fix, as the rest of a sentence that starts with the setting's name. */
export const AMBIGUOUS_USER_INFO =
  'has "/", "?" or "#" before its last "@", so its password cannot be told from its host: percent-encode them in the user name and password (%2F, %3F, %23), and an "@" after the host (%40)';

/**
 * The parts of `url` output must not show, in order and not overlapping:
 * the password (from the first ":" of the user info to the last "@"), and
 * the value of each password-like parameter, to the end of the text (an
 * unencoded "&" or "#" in it would otherwise end it early). Text that does
 * not start with `scheme://` cannot be read: all of it after the scheme
 * (all of it, without one) is hidden.
 */
export function hiddenSpans(url: string): Span[] {
  if (url === '') return [];
  const start = authorityStart(url);
  if (start === undefined) return [{ start: SCHEME.exec(url)?.[0].length ?? 0, end: url.length }];
  const spans: Span[] = [];
  const at = url.lastIndexOf('@');
  const colon = url.indexOf(':', start);
  if (colon !== -1 && colon < at) spans.push({ start: colon + 1, end: at });
  for (const value of secretParamValues(url, start)) spans.push({ start: value, end: url.length });
  return merged(spans);
}

/**
 * Every reading of the URL's secrets, for removing them from other text
 * (a driver's error message). A password runs from a ":" to an "@" (whichever
 * pair a parser chose), a parameter's value to an "&", a "#" or the end;
 * whatever `hiddenSpans` hides; and text that is not `scheme://…`, whole.
 */
export function secretReadings(url: string): string[] {
  const authority = authorityStart(url);
  const start = authority ?? 0;
  const readings = hiddenSpans(url).map(({ start: from, end }) => url.slice(from, end));
  // Text that cannot be read may be a secret whole, its scheme-like start too.
  if (authority === undefined) readings.push(url);
  const colons = indexesOf(url, ':', start);
  const ats = indexesOf(url, '@', start);
  for (const colon of colons) for (const at of ats) if (at > colon + 1) readings.push(url.slice(colon + 1, at));
  for (const value of secretParamValues(url, start)) {
    for (const end of [...indexesOf(url, '&', value), ...indexesOf(url, '#', value), url.length]) if (end > value) readings.push(url.slice(value, end));
  }
  return readings;
}

/** Where each password-like parameter's value begins. */
function secretParamValues(url: string, from: number): number[] {
  return [...url.slice(from).matchAll(SECRET_PARAM)].map((match) => from + match.index + match[0].length);
}

function indexesOf(text: string, char: string, from: number): number[] {
  const found: number[] = [];
  for (let i = text.indexOf(char, from); i !== -1; i = text.indexOf(char, i + 1)) found.push(i);
  return found;
}

/** Overlapping or touching spans as one: a parameter inside a password hides the rest of the URL. */
function merged(spans: Span[]): Span[] {
  const out: Span[] = [];
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    const last = out.at(-1);
    if (last && span.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, span.end) };
    else out.push(span);
  }
  return out;
}
