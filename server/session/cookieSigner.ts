import Keygrip from 'keygrip';

export interface Verified {
  id: string;
  /** Signed with a key other than the first: re-sign on this response. */
  rotated: boolean;
}

/**
 * Signs the session id into one cookie value, `<id>.<HMAC-SHA-256>`, with
 * the `SESSION_KEYS` list (first signs, all verify, constant-time compare).
 * A forged or tampered value is rejected here, before any store lookup.
 */
export class CookieSigner {
  readonly #keygrip: Keygrip;

  constructor(keys: readonly string[]) {
    this.#keygrip = new Keygrip([...keys], 'sha256');
  }

  sign(id: string): string {
    return `${id}.${this.#keygrip.sign(id)}`;
  }

  verify(value: string): Verified | undefined {
    const dot = value.indexOf('.');
    if (dot <= 0 || dot === value.length - 1) return undefined;
    const id = value.slice(0, dot);
    const index = this.#keygrip.index(id, value.slice(dot + 1));
    if (index < 0) return undefined;
    return { id, rotated: index > 0 };
  }
}
