import { createHmac, hkdfSync } from 'node:crypto';

/** 12 bytes of the MAC: 16 base64url characters, as unlikely to collide between the logins of one app as to matter. */
const TAG_BYTES = 12;

/**
 * What a log line says of a login that failed or was throttled: a keyed
 * tag, never the login (an email address is personal data, and logs are
 * kept, shipped and read more widely than the user table). An HMAC under a
 * key derived from the session keys (HKDF, an info string of its own), so
 * the same login gets the same tag and an operator can still follow the
 * attempts on one account; a plain hash of an email would be reversed with
 * a list of addresses. The first key tags: after a key rotation the tags
 * of the same login change.
 */
export function loginLogTagger(secrets: readonly string[]): (login: string) => string {
  const key = Buffer.from(hkdfSync('sha256', secrets[0]!, 'gatehouse', 'gatehouse/login-log-tag/v1', 32));
  return function loginLogTag(login) {
    return createHmac('sha256', key).update(login).digest().subarray(0, TAG_BYTES).toString('base64url');
  };
}
