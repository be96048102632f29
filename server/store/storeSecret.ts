import { createHmac, hkdfSync } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { randomPool } from '../session/randomPool.js';
import { Sealer } from '../session/sealer.js';
import { DURABLE, type KeyValueStore } from './keyValueStore.js';

/** Where the store keeps its secret, sealed under `SESSION_KEYS`. */
export const STORE_SECRET_KEY = 'gatehouse:store-secret';
const SECRET_BYTES = 32;
/** Characters of a key part: 192 bits of HMAC-SHA-256, base64url. */
const PART_CHARS = 32;
const NO_EXPIRY = 0;
/** The kinds of key this version writes under a key part of the secret (`StoreSecret.keyOf`): the session and device indexes, the generations, the built-in accounts. */
export type SecretKind = 'si' | 'sg' | 'di' | 'ai' | 'an';
const SECRET_PREFIXES = ['si:', 'sg:', 'di:', 'ai:', 'an:'] as const;
/** What an earlier version (0.2) wrote with a user id, a login or an address in the clear: the session and device indexes, the generations, the built-in directory. */
export const LEGACY_PREFIXES = ['u:', 'g:', 'user:'] as const;

const storedShape = z.object({
  v: z.literal(1),
  secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  /** Until when keys the earlier version wrote are read alongside (0: the store held none when the secret was made). */
  legacyUntil: z.number().int().nonnegative(),
});

/**
 * The store's own secret: 32 random bytes kept in the store, sealed under
 * `SESSION_KEYS` (re-sealed under the first key at every start, so a
 * rotated-out key may be dropped once an instance has started with the new
 * one). From it come:
 *
 * - the store key parts that would otherwise carry a user id, a login or a
 *   client address (`part`): HMAC-SHA-256, so neither a store dump nor a
 *   driver's trace of its commands shows them, and no dictionary of logins
 *   reverses them without the secret;
 * - the key that seals the built-in directory's accounts (`sealer`).
 *
 * Not derived from `SESSION_KEYS` themselves: rotating those would rename
 * every index and counter, and lose the accounts.
 */
export class StoreSecret {
  readonly #macKey: Buffer;
  /** Seals what must outlive a key rotation (the built-in directory's accounts). */
  readonly sealer: Sealer;
  /** Until when (ms since the epoch) keys an earlier version wrote are read alongside the new ones; 0 for a store that held none. */
  readonly legacyUntil: number;

  constructor(secret: string, legacyUntil = 0) {
    this.#macKey = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'base64url'), 'gatehouse', 'gatehouse/store-key-parts/v1', 32));
    this.sealer = new Sealer([`gatehouse/store-records/v1:${secret}`]);
    this.legacyUntil = legacyUntil;
  }

  /** The store key part for `value` (a user id, a login key, an address): the same on every instance sharing the store. */
  part(value: string): string {
    return createHmac('sha256', this.#macKey).update(value).digest('base64url').slice(0, PART_CHARS);
  }

  /**
   * The store key of one user's (or login's) entry of one kind: `<kind>:`
   * and the part of the kind and the value together, so one user's keys of
   * different kinds (index, devices, generation, account) share nothing a
   * store dump could link them by.
   */
  keyOf(kind: SecretKind, value: string): string {
    return `${kind}:${this.part(`${kind}\0${value}`)}`;
  }

  /** Whether keys an earlier version wrote may still hold something live at `now`. */
  readsLegacyAt(now: number): boolean {
    return now < this.legacyUntil;
  }
}

/** The store's secret cannot be used: Gatehouse must not start on it (nor make another). */
export class StoreSecretError extends Error {
  override readonly name: string = 'StoreSecretError';
}

/** The store's secret is sealed under none of the configured keys, or its value was altered. */
export class StoreSecretSealedError extends StoreSecretError {
  override readonly name = 'StoreSecretSealedError';
  constructor(altered = false) {
    super(
      altered
        ? `The store's secret (key "${STORE_SECRET_KEY}") is sealed under one of SESSION_KEYS but does not open: its value was altered. Restore it from a backup of the store; do not delete it.`
        : `The store's secret (key "${STORE_SECRET_KEY}") does not open with any of SESSION_KEYS: the keys were replaced, not rotated. ` +
            'Put the key that was first before back in the list, after the new one, and start again (the secret is then re-sealed under the new key). ' +
            "If that key is lost, the store's session lists, counters and built-in accounts cannot be read: to start afresh, delete Gatehouse's keys (its namespace) from the store.",
    );
  }
}

/** The store holds keys made under a secret, and the secret is gone: a new one would leave them unreadable. */
export class StoreSecretLostError extends StoreSecretError {
  override readonly name = 'StoreSecretLostError';
  constructor() {
    super(
      `The store holds session lists or accounts made under its secret, but the secret (key "${STORE_SECRET_KEY}") is gone: restore it from a backup of the store. ` +
        'Gatehouse does not make a new one: the built-in accounts would become unreadable (their logins free to register again) and "end every session" would miss the sessions those lists hold. ' +
        "To start afresh knowingly, delete Gatehouse's keys (its namespace) from the store first.",
    );
  }
}

/**
 * Reads the store's secret, making it on the first start (of two instances
 * starting at once, one makes it and both use it). A store that already held
 * what an earlier version wrote (`LEGACY_PREFIXES`) gets a window of
 * `legacyWindowMs` in which those keys are still read; a store that cannot
 * list its keys is assumed to hold some.
 */
export async function openStoreSecret(kv: KeyValueStore, sealer: Sealer, clock: Clock, legacyWindowMs: number): Promise<StoreSecret> {
  let sealed = await kv.get(STORE_SECRET_KEY);
  if (sealed === undefined) {
    // Deleted, evicted, or lost in a failover: made again, it would split the instances over two secrets.
    if (await heldKeysOfASecret(kv)) throw new StoreSecretLostError();
    const legacyUntil = (await heldLegacyKeys(kv)) ? clock.now() + legacyWindowMs : 0;
    const made = sealer.seal(JSON.stringify({ v: 1, secret: randomPool.base64url(SECRET_BYTES), legacyUntil }), STORE_SECRET_KEY);
    sealed = (await kv.add(STORE_SECRET_KEY, made, NO_EXPIRY, DURABLE)) ? made : await kv.get(STORE_SECRET_KEY);
    if (sealed === undefined) throw new Error(`The store's secret (key "${STORE_SECRET_KEY}") was made and is gone again: is something deleting Gatehouse's keys?`);
  }
  const opened = sealer.open(sealed, STORE_SECRET_KEY);
  if (!opened) throw new StoreSecretSealedError(sealer.knowsKeyOf(sealed));
  const parsed = storedShape.safeParse(JSON.parse(opened.plaintext));
  if (!parsed.success) throw new Error(`The store's secret (key "${STORE_SECRET_KEY}") is not in a format this version reads: ${parsed.error.message}`);
  // Sealed under an older key: seal it under the first, so that key can go (another instance may do it first).
  // Best effort: the secret opened, so a failed re-seal (a replica that did not confirm) must not fail the request.
  if (opened.rotated) await kv.compareAndSet(STORE_SECRET_KEY, sealed, sealer.seal(opened.plaintext, STORE_SECRET_KEY), NO_EXPIRY, DURABLE).catch(() => false);
  return new StoreSecret(parsed.data.secret, parsed.data.legacyUntil);
}

/**
 * How long keys an earlier version wrote may matter: a "stay signed in"
 * credential's lifetime, then the absolute timeout of a session it started
 * at the end of that lifetime (such a session answers to the earlier
 * version's generation counter, which is read only in this window), and a day.
 */
export const legacyWindowOf = (options: { readonly absoluteTimeoutMs: number; readonly staySignedInMs?: number | undefined }) =>
  (options.staySignedInMs ?? 0) + options.absoluteTimeoutMs + 24 * 3_600_000;

/** How long start-up waits for the store's secret before leaving it to the first request (the store may be down). */
const SECRET_AT_START_MS = 2_000;

/**
 * A secret that cannot be used (keys replaced rather than rotated, a secret
 * altered or lost) fails start-up with the fix named, when the store answers
 * in time; a store that is down leaves it to the first request that needs
 * the secret (Gatehouse starts, and answers 503).
 */
export async function refuseUnusableSecret(storeSecret: StoreSecretSource): Promise<void> {
  const outcome = storeSecret().then(
    () => undefined,
    (error: unknown) => (error instanceof StoreSecretError ? error : undefined),
  );
  const refused = await Promise.race([outcome, delay(SECRET_AT_START_MS, undefined, { ref: false })]);
  if (refused) throw refused;
}

/** Resolves the store's secret: what the store's components take, since Gatehouse starts (and answers 503) while its store is down. */
export type StoreSecretSource = () => Promise<StoreSecret>;

/**
 * The store's secret, read (or made) at the first call that needs it and
 * kept from then on; a call that fails (the store is down: 503) leaves the
 * next one to try again.
 */
export function lazyStoreSecret(kv: KeyValueStore, sealer: Sealer, clock: Clock, legacyWindowMs: number): StoreSecretSource {
  let known: Promise<StoreSecret> | undefined;
  return () => {
    known ??= openStoreSecret(kv, sealer, clock, legacyWindowMs).catch((error: unknown) => {
      known = undefined;
      throw error;
    });
    return known;
  };
}

async function heldLegacyKeys(kv: KeyValueStore): Promise<boolean> {
  if (!kv.keysWithPrefix) return true;
  for (const prefix of LEGACY_PREFIXES) if ((await kv.keysWithPrefix(prefix, 1)).length > 0) return true;
  return false;
}

async function heldKeysOfASecret(kv: KeyValueStore): Promise<boolean> {
  if (!kv.keysWithPrefix) return false;
  for (const prefix of SECRET_PREFIXES) if ((await kv.keysWithPrefix(prefix, 1)).length > 0) return true;
  return false;
}
