import { redactUrl } from './redactUrl.js';
import { secretReadings } from './storeUrlSecrets.js';

/** How many times a secret is percent-decoded: a password written `p%2540ss` is `p%40ss` once and `p@ss` twice. */
const DECODINGS = 3;

/** A secret as a driver may print it: as written, percent-decoded (`+` as a space too) and percent-encoded. */
function formsOf(secret: string): string[] {
  const forms = [secret, encodeURIComponent(secret)];
  for (let text of [secret, secret.replace(/\+/g, ' ')]) {
    for (let i = 0; i < DECODINGS; i++) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(text);
      } catch {
        break; // not (or no longer) percent-encoded
      }
      if (decoded === text) break;
      forms.push(decoded, encodeURIComponent(decoded));
      text = decoded;
    }
  }
  return forms;
}

/**
 * A function that removes a store URL's secrets from any text (an error
 * message that quotes the URL, its password or a parameter's value), for
 * process output: the URL itself becomes `redactUrl(url)`, every reading of
 * its password and password-like parameters (see `secretReadings`), as
 * written, decoded and encoded, becomes `***`.
 *
 * @example secretScrubber('postgres://app:p%40ss@db/app')('password p@ss refused') // 'password *** refused'
 */
export function secretScrubber(url: string): (text: string) => string {
  const redacted = redactUrl(url);
  const secrets = [...new Set(secretReadings(url).flatMap(formsOf))]
    .filter((secret) => secret.length > 0)
    // Longest first: a shorter reading replaced first would cut a longer one into pieces that stay.
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = url === '' ? text : text.split(url).join(redacted);
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
}

/**
 * Removes a store URL's secrets from an error a driver threw, in place: its
 * message, stack and every other string field but `code` (Node's `ERR_INVALID_URL`
 * keeps the whole URL in `input`, which `console.error(error)` and pino
 * print), and the same in its `cause` and `errors`. Returns the error, to
 * throw it on: its class, code and stack stay what they were.
 */
export function scrubErrorInPlace(error: unknown, scrub: (text: string) => string, depth = 0): unknown {
  if (typeof error !== 'object' || error === null || depth > 4) return error;
  const fields = error as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(error)) {
    const value = fields[key];
    // `code` is what callers branch on (ERR_MODULE_NOT_FOUND, ECONNREFUSED), never a secret.
    if (typeof value === 'string' && key !== 'code') {
      try {
        fields[key] = scrub(value);
      } catch {
        // a read-only field
      }
    } else if (key === 'cause') {
      scrubErrorInPlace(value, scrub, depth + 1);
    } else if (key === 'errors' && Array.isArray(value)) {
      for (const inner of value) scrubErrorInPlace(inner, scrub, depth + 1);
    }
  }
  return error;
}
