import { hash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { confirmAtEnd } from '../store/confirmAtEnd.js';
import { DURABLE, type KeyValueStore } from '../store/keyValueStore.js';
import type { StoreSecretSource } from '../store/storeSecret.js';
import { GENERATION_ERA } from './generations.js';
import { randomPool } from './randomPool.js';
import type { Sealer } from './sealer.js';
import type { SessionCarrier } from './sessionRecord.js';
import { UserIndex } from './userIndex.js';

const SECRET_BYTES = 32;
/** After a rotation, the token it replaced still starts sessions this long without question: tabs restored at once, parallel requests. */
export const REPLAY_GRACE_MS = 2 * 60_000;

const digest = (label: string, value: string) => hash('sha256', `gatehouse/${label}\0${value}`, 'base64url');
const seriesKeyOf = (seriesId: string) => `r:${digest('series', seriesId)}`;
/** The id `sessions.list` shows for a remembered device: neither its cookie nor its store key. */
export const devicePublicIdOf = (seriesId: string) => digest('series-public', seriesId).slice(0, 22);
const tokenHashOf = (token: string) => digest('series-token', token);

/** The user's session generation in the era of `like` (a series' own `gen`): `SessionStore.generationOf`. */
export type GenerationSource = (userId: string, like: number) => Promise<number>;

/** A device credential as the store holds it (sealed): the series, its current and previous token as hashes only. */
const seriesShape = z.object({
  v: z.literal(1),
  userId: z.string().min(1),
  publicId: z.string(),
  /** How many times the token was replaced: the current token's number (the client's credential carries it, signed). */
  n: z.number().int().nonnegative(),
  current: z.string(),
  previous: z.string().nullable(),
  rotatedAt: z.number(),
  /** The store key of the session the last rotation started: used since, its token's holder is active. */
  startedKey: z.string().nullable(),
  createdAt: z.number(),
  /** The hard end: no use extends it. */
  expiresAt: z.number(),
  /** When the user last gave their password for this device: the sessions it starts are not fresh. */
  authAt: z.number(),
  lastUsed: z.number(),
  ua: z.string().max(512).nullable(),
  carrier: z.enum(['cookie', 'bearer']),
  /** The user's session generation it was made under (its era says which counter: `GENERATION_ERA`): ending every session of the user ends it too. */
  gen: z.number().int().nonnegative(),
});
export type Series = z.infer<typeof seriesShape>;

/** What the client holds: the series id, its token's number and the token (the cookie value's three parts, signed). */
export interface DeviceCredential {
  readonly seriesId: string;
  readonly n: number;
  readonly token: string;
}

/** What presenting a credential means, before anything is written. */
export type Verdict =
  /** Unknown, expired, tampered or ended (an end-all moved the generation): drop it, no alarm. */
  | { readonly kind: 'none' }
  /**
   * The current token; a previous one whose successor's answer never arrived; or a token newer than the store
   * holds (a replica lost the rotation that issued it): a new session, and a new token.
   */
  | { readonly kind: 'rotate'; readonly series: Series; readonly sealed: string }
  /** The token a rotation a moment ago replaced (another tab, a parallel request): a new session, the client keeps its token. */
  | { readonly kind: 'accept'; readonly series: Series }
  /** A token the series moved past while its successor was in use: it was copied. End everything of the user. */
  | { readonly kind: 'replayed'; readonly series: Series };

/**
 * "Stay signed in on this device" (SECURITY.md L13): a long-lived
 * credential separate from the session, stored only as hashes, replaced at
 * every use, and a replayed old token read as theft — the well-known design
 * (a series and a rotating token), with rules that do not raise Spring's
 * false alarms:
 *
 * - The current token starts a session and is replaced by a new one.
 * - The token a rotation replaced still starts a session, without a new
 *   token, for two minutes after it (`REPLAY_GRACE_MS`): several tabs
 *   restored at once, a page's parallel requests, all sending the cookie
 *   the browser had.
 * - Later, that previous token still works if the session its rotation
 *   started was never used: the answer carrying the new token never
 *   reached the browser. It is then replaced afresh.
 * - A token numbered at or past the store's current one that is not the
 *   current one was issued by a rotation the store lost (a failover before
 *   a replica had it; the number is signed with the credential, so only
 *   Gatehouse makes one): no alarm, it is replaced afresh.
 * - Otherwise — a token older than the previous one, or the previous one
 *   while its successor's holder is active — the credential was copied:
 *   every session and device credential of the user ends.
 */
export class DeviceCredentials {
  readonly #kv: KeyValueStore;
  readonly #sealer: Sealer;
  readonly #clock: Clock;
  /** Public id → series key of each user's remembered devices, keyed through the store secret (`di:`). */
  readonly #index: UserIndex;
  /** How long a series lives at most, however often it is used. */
  readonly lifetimeMs: number;

  constructor(kv: KeyValueStore, sealer: Sealer, storeSecret: StoreSecretSource, clock: Clock, lifetimeMs: number) {
    this.#kv = kv;
    this.#sealer = sealer;
    this.#clock = clock;
    this.#index = new UserIndex(kv, storeSecret, clock, 'di', (userId) => `u:${userId}:devices`);
    this.lifetimeMs = lifetimeMs;
  }

  /** A new series for a user who just gave their password here (`authAt`), with its first token. */
  async issue(userId: string, options: { authAt: number; ua: string | null; carrier: SessionCarrier; gen: number; startedKey: string }): Promise<DeviceCredential> {
    const seriesId = randomPool.base64url(SECRET_BYTES);
    const token = randomPool.base64url(SECRET_BYTES);
    const now = this.#clock.now();
    const series: Series = {
      v: 1,
      userId,
      publicId: devicePublicIdOf(seriesId),
      n: 0,
      current: tokenHashOf(token),
      previous: null,
      rotatedAt: now,
      startedKey: options.startedKey,
      createdAt: now,
      expiresAt: now + this.lifetimeMs,
      authAt: options.authAt,
      lastUsed: now,
      ua: options.ua,
      carrier: options.carrier,
      gen: options.gen,
    };
    const key = seriesKeyOf(seriesId);
    await this.#kv.set(key, this.#seal(key, series), this.#ttl(series));
    await this.#index.set(userId, series.publicId, key, this.#ttl(series));
    return { seriesId, n: 0, token };
  }

  /**
   * What presenting `credential` means now. `currentGeneration` reads the
   * user's session generation in the series' era; `used` says whether the
   * session a rotation started has been used since.
   */
  async judge(credential: DeviceCredential, currentGeneration: GenerationSource, used: (sessionKey: string) => Promise<boolean>): Promise<Verdict> {
    const key = seriesKeyOf(credential.seriesId);
    const sealed = await this.#kv.get(key);
    const series = sealed === undefined ? undefined : this.#open(key, sealed);
    if (!series || sealed === undefined) return { kind: 'none' };
    const now = this.#clock.now();
    if (now >= series.expiresAt || series.gen !== (await currentGeneration(series.userId, series.gen))) {
      await this.#remove(key, series);
      return { kind: 'none' };
    }
    const presented = tokenHashOf(credential.token);
    if (presented === series.current || credential.n > series.n) return { kind: 'rotate', series, sealed };
    // Two rotations from one token: the store lost the first (compare-and-set lets no other way through).
    if (credential.n === series.n) return { kind: 'rotate', series, sealed };
    if (credential.n === series.n - 1 && presented === series.previous) {
      if (now < series.rotatedAt + REPLAY_GRACE_MS) return { kind: 'accept', series };
      if (series.startedKey === null || !(await used(series.startedKey))) return { kind: 'rotate', series, sealed };
    }
    return { kind: 'replayed', series };
  }

  /**
   * Replaces the token of a series judged `rotate` (only if it is still as
   * judged: compare-and-set), recording the session this use started.
   * Resolves the new token, or `undefined` when another request got there
   * first (judge again).
   */
  async rotate(credential: DeviceCredential, verdict: Extract<Verdict, { kind: 'rotate' }>, startedKey: string): Promise<DeviceCredential | undefined> {
    const key = seriesKeyOf(credential.seriesId);
    const token = randomPool.base64url(SECRET_BYTES);
    const now = this.#clock.now();
    // Past every number issued so far, including one a lost rotation issued (the presented one may be ahead of the store).
    const n = Math.max(verdict.series.n, credential.n) + 1;
    const next: Series = { ...verdict.series, n, current: tokenHashOf(token), previous: tokenHashOf(credential.token), rotatedAt: now, startedKey, lastUsed: now };
    // Durable: with waitReplicas the rotation is on the replicas before the client holds its token. Lost in a
    // failover, the client's new token would meet the old series, which reads as theft and signs everyone out.
    // Unconfirmed, the error carries the new token (the series has moved to it on the master) for a caller that can hand it over.
    return confirmAtEnd(async (step) => ((await step(this.#kv.compareAndSet(key, verdict.sealed, this.#seal(key, next), this.#ttl(next), DURABLE))) ? { seriesId: credential.seriesId, n, token } : undefined));
  }

  /** Ends the series of a credential (its device signed out); resolves whether it existed. */
  forget(credential: DeviceCredential): Promise<boolean> {
    // Taken even when unconfirmed: its index entry goes all the same.
    return confirmAtEnd(async (step) => {
      const key = seriesKeyOf(credential.seriesId);
      const taken = await step(this.#kv.take(key, DURABLE));
      const series = taken === undefined ? undefined : this.#open(key, taken);
      if (series) await this.#index.delete(series.userId, series.publicId);
      return series !== undefined;
    });
  }

  /** Ends one of the user's remembered devices by the id `sessions.list` shows; false when it is not theirs. */
  async forgetByPublicId(userId: string, publicId: string): Promise<boolean> {
    const key = (await this.#index.getAll(userId)).get(publicId);
    if (key === undefined || !key.startsWith('r:')) return false;
    const sealed = await this.#kv.get(key);
    const series = sealed === undefined ? undefined : this.#open(key, sealed);
    if (!series || series.userId !== userId) {
      await this.#index.delete(userId, publicId);
      return false;
    }
    return this.#remove(key, series);
  }

  /** The user's remembered devices, most recently used first (ended ones pruned). `currentGeneration` as for `judge`. */
  async list(userId: string, currentGeneration: GenerationSource): Promise<Series[]> {
    const listed: Series[] = [];
    // One read per era at most, however many devices: series made before and after an upgrade answer to different counters.
    const generations = new Map<boolean, Promise<number>>();
    const generationLike = (gen: number) => {
      const era = gen >= GENERATION_ERA;
      if (!generations.has(era)) generations.set(era, currentGeneration(userId, gen));
      return generations.get(era)!;
    };
    for (const [publicId, key] of await this.#index.getAll(userId)) {
      const sealed = key.startsWith('r:') ? await this.#kv.get(key) : undefined;
      const series = sealed === undefined ? undefined : this.#open(key, sealed);
      if (series && series.userId === userId && series.gen === (await generationLike(series.gen)) && this.#clock.now() < series.expiresAt) listed.push(series);
      else await this.#index.delete(userId, publicId);
    }
    return listed.sort((a, b) => b.lastUsed - a.lastUsed);
  }

  /** Removes every series of the user (an end-all already made them useless by moving the generation); resolves how many. */
  forgetAll(userId: string): Promise<number> {
    // One unconfirmed delete does not leave the user's other series behind.
    return confirmAtEnd(async (step) => {
      let forgotten = 0;
      for (const [publicId, key] of await this.#index.getAll(userId)) {
        if (key.startsWith('r:') && (await step(this.#kv.delete(key, DURABLE)))) forgotten += 1;
        await this.#index.delete(userId, publicId);
      }
      return forgotten;
    });
  }

  #remove(key: string, series: Series): Promise<boolean> {
    return confirmAtEnd(async (step) => {
      const [removed] = await Promise.all([step(this.#kv.delete(key, DURABLE)), this.#index.delete(series.userId, series.publicId)]);
      return removed;
    });
  }

  #open(key: string, sealed: string): Series | undefined {
    const opened = this.#sealer.open(sealed, key);
    if (!opened) return undefined;
    try {
      const parsed = seriesShape.safeParse(JSON.parse(opened.plaintext));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  #seal(key: string, series: Series): string {
    return this.#sealer.seal(JSON.stringify(series), key);
  }

  #ttl(series: Series): number {
    return Math.max(1, series.expiresAt - this.#clock.now() + 5_000);
  }
}

/** A device credential as one string (`<series>~<n>~<token>`), which the carrier signs like a session id (so `n` cannot be forged). */
export const encodeCredential = (credential: DeviceCredential) => `${credential.seriesId}~${credential.n}~${credential.token}`;

export function decodeCredential(value: string): DeviceCredential | undefined {
  const match = /^([A-Za-z0-9_-]{43})~(0|[1-9][0-9]{0,8})~([A-Za-z0-9_-]{43})$/.exec(value);
  return match ? { seriesId: match[1]!, n: Number(match[2]), token: match[3]! } : undefined;
}
