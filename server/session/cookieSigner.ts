import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

export interface Verified {
  id: string;
  /** Signed with a key other than the first: re-sign on this response. */
  rotated: boolean;
}

/**
 * Signs the session id into one cookie value, `<id>.<HMAC-SHA-256>`
 * (base64url, the format keygrip with sha256 produced), with the
 * `SESSION_KEYS` list: the first signs, all verify.
 *
 * Node's `timingSafeEqual` does the constant-time compare: keygrip's
 * (tsscmp) drew random bytes and computed two more HMACs per key on every
 * request to compare, three quarters of the signer's cost (bench/PROFILE.md).
 * A forged or tampered value is rejected here, before any store lookup.
 */
export class CookieSigner {
  readonly #keys: KeyObject[];

  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new Error('CookieSigner needs at least one key');
    // Prepared once: createHmac with a KeyObject skips the per-call key import.
    this.#keys = keys.map((key) => createSecretKey(Buffer.from(key, 'utf8')));
  }

  sign(id: string): string {
    return `${id}.${this.#mac(id, this.#keys[0]!)}`;
  }

  verify(value: string): Verified | undefined {
    const dot = value.indexOf('.');
    if (dot <= 0 || dot === value.length - 1) return undefined;
    const id = value.slice(0, dot);
    // The exact string is compared, not decoded bytes: base64url has several spellings of the same bytes.
    const given = Buffer.from(value.slice(dot + 1), 'utf8');
    for (let index = 0; index < this.#keys.length; index += 1) {
      const expected = Buffer.from(this.#mac(id, this.#keys[index]!), 'utf8');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return { id, rotated: index > 0 };
    }
    return undefined;
  }

  #mac(data: string, key: KeyObject): string {
    return createHmac('sha256', key).update(data).digest('base64url');
  }
}
