import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { randomPool } from './randomPool.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

interface SealKey {
  id: string;
  key: Buffer;
}

export interface Opened {
  plaintext: string;
  /** Sealed under a key other than the first: re-seal on the next write. */
  rotated: boolean;
}

/**
 * AES-256-GCM encryption at rest. One key per `SESSION_KEYS` entry, derived
 * with HKDF-SHA-256; the first seals, all open. A fresh 96-bit nonce per
 * write, and the store key as additional data, so a record copied under
 * another key does not open.
 */
export class Sealer {
  readonly #keys: SealKey[];
  readonly #byId: Map<string, SealKey>;

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('Sealer needs at least one key');
    this.#keys = secrets.map((secret) => {
      const key = Buffer.from(hkdfSync('sha256', secret, 'gatehouse', 'gatehouse/session-encryption/v1', 32));
      const id = createHash('sha256').update(key).digest('base64url').slice(0, 8);
      return { id, key };
    });
    this.#byId = new Map(this.#keys.map((k) => [k.id, k]));
  }

  seal(plaintext: string, additionalData: string): string {
    const primary = this.#keys[0]!;
    const nonce = randomPool.bytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', primary.key, nonce);
    cipher.setAAD(Buffer.from(additionalData));
    const body = Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${primary.id}.${body.toString('base64url')}`;
  }

  /** Whether `sealed` names one of this sealer's keys (so, if it does not open, it was altered rather than sealed elsewhere). */
  knowsKeyOf(sealed: string): boolean {
    const [version, keyId] = sealed.split('.');
    return version === VERSION && keyId !== undefined && this.#byId.has(keyId);
  }

  /** Returns `undefined` for anything that is not a record we sealed (tampered, foreign key, garbage). */
  open(sealed: string, additionalData: string): Opened | undefined {
    const [version, keyId, payload, extra] = sealed.split('.');
    if (version !== VERSION || keyId === undefined || payload === undefined || extra !== undefined) return undefined;
    const entry = this.#byId.get(keyId);
    if (!entry) return undefined;
    const body = Buffer.from(payload, 'base64url');
    if (body.length < NONCE_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', entry.key, body.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(additionalData));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plaintext = Buffer.concat([
        decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
      return { plaintext, rotated: entry !== this.#keys[0] };
    } catch {
      return undefined;
    }
  }
}
