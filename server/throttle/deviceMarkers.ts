import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { randomPool } from '../session/randomPool.js';

const NONCE_BYTES = 16;
const MAC_BYTES = 16;
/** Markers one browser keeps (one per account signed in from it), most recent first. */
export const MAX_MARKERS = 5;
const MARKER = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/;

/**
 * "This browser has signed in to this account before" (OWASP's device
 * cookies): a nonce and a MAC over the account's throttle key and that
 * nonce, under a key derived from the session keys. A marker earned for
 * one account says nothing about another, so an attacker who signs in to
 * an account of their own is no known browser for a victim's. It is a
 * hint for the login throttle (a known browser is counted on its own, not
 * on the account an attacker is hammering), never a credential: the
 * password is still checked.
 */
export class DeviceMarkers {
  readonly #keys: Buffer[];

  constructor(secrets: readonly string[]) {
    this.#keys = secrets.map((secret) => Buffer.from(hkdfSync('sha256', secret, 'gatehouse', 'gatehouse/device-marker/v1', 32)));
  }

  /** A new marker for the account whose throttle key is `accountKey`. */
  issue(accountKey: string): string {
    const nonce = randomPool.base64url(NONCE_BYTES);
    return `${nonce}.${this.#mac(this.#keys[0]!, accountKey, nonce).toString('base64url')}`;
  }

  /** The nonce of the marker among `presented` issued for `accountKey` (under any of the keys), if there is one. */
  recognise(presented: readonly string[], accountKey: string): string | undefined {
    for (const marker of presented) {
      if (!MARKER.test(marker)) continue;
      const [nonce = '', mac = ''] = marker.split('.');
      const given = Buffer.from(mac, 'base64url');
      if (this.#keys.some((key) => timingSafeEqual(this.#mac(key, accountKey, nonce), given))) return nonce;
    }
    return undefined;
  }

  /** The markers a browser keeps after earning `marker`: it first, one per account at most, a handful in all. */
  static merged(marker: string, presented: readonly string[], sameAccount: (marker: string) => boolean): string[] {
    return [marker, ...presented.filter((other) => MARKER.test(other) && !sameAccount(other))].slice(0, MAX_MARKERS);
  }

  #mac(key: Buffer, accountKey: string, nonce: string): Buffer {
    return createHmac('sha256', key).update(`${accountKey}\0${nonce}`).digest().subarray(0, MAC_BYTES);
  }
}
