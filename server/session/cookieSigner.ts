import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

export interface Verified {
  id: string;
  /** Signed with a key other than the first: re-sign on this response. */
  rotated: boolean;
}

/** How many verified values are remembered (FIFO): ~200 bytes each, so under 1 MB. */
const VERIFIED_MEMO_SIZE = 4_096;

/**
 * Signs the session id into one cookie value, `<id>.<HMAC-SHA-256>`
 * (base64url, the format keygrip with sha256 produced), with the
 * `SESSION_KEYS` list: the first signs, all verify.
 *
 * Node's `timingSafeEqual` does the constant-time compare: keygrip's
 * (tsscmp) drew random bytes and computed two more HMACs per key on every
 * request to compare, three quarters of the signer's cost (bench/PROFILE.md).
 * A forged or tampered value is rejected here, before any store lookup.
 *
 * Values that verified are remembered (a bounded map, oldest out first):
 * a browser sends the same cookie on every request, and its HMAC was about
 * 5 µs of a 100 µs read. Only the signature check is remembered — the
 * session is still read from the store on every request, so an ended
 * session stays ended — and only for values this process verified: a
 * forged value is never in the map, and still gets the HMAC and the
 * constant-time compare. The map lives as long as the signer, whose keys
 * never change (a new `SESSION_KEYS` list is a new process).
 */
export class CookieSigner {
  readonly #keys: KeyObject[];
  readonly #verified = new Map<string, Verified>();

  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new Error('CookieSigner needs at least one key');
    // Prepared once: createHmac with a KeyObject skips the per-call key import.
    this.#keys = keys.map((key) => createSecretKey(Buffer.from(key, 'utf8')));
  }

  sign(id: string): string {
    return `${id}.${this.#mac(id, this.#keys[0]!)}`;
  }

  verify(value: string): Verified | undefined {
    const known = this.#verified.get(value);
    if (known !== undefined) return known;
    const verified = this.#verify(value);
    if (verified !== undefined) {
      if (this.#verified.size >= VERIFIED_MEMO_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
      this.#verified.set(value, verified);
    }
    return verified;
  }

  #verify(value: string): Verified | undefined {
    const dot = value.indexOf('.');
    if (dot <= 0 || dot === value.length - 1) return undefined;
    const id = value.slice(0, dot);
    // The exact string is compared, not decoded bytes: base64url has several spellings of the same bytes.
    const given = Buffer.from(value.slice(dot + 1), 'utf8');
    for (let index = 0; index < this.#keys.length; index += 1) {
      const expected = Buffer.from(this.#mac(id, this.#keys[index]!), 'utf8');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return Object.freeze({ id, rotated: index > 0 });
    }
    return undefined;
  }

  #mac(data: string, key: KeyObject): string {
    return createHmac('sha256', key).update(data).digest('base64url');
  }
}
