import type { Logger } from 'pino';
import { z } from 'zod';
import type { User } from '../shared/user.js';
import type { AccountsAdapter } from './accounts/accountsAdapter.js';
import type { PasswordHasher } from './accounts/passwordHasher.js';
import type { SessionEventHook } from './session/sessionEvents.js';
import type { Clock } from './clock.js';
import { parseDurationOption } from './duration.js';
import type { KeyValueStore } from './store/keyValueStore.js';
import { storeUrlProblem } from './store/storeUrl.js';

/** Milliseconds, or a string with a unit: `'500ms'`, `'30s'`, `'30m'`, `'12h'`, `'7d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

/** Where sessions, accounts and counters live: a URL, or a store you opened (see `openStore`). */
export type StoreOption = string | KeyValueStore;

/**
 * An option that applies to store URLs only: with a store you opened
 * (`TStore` an instance), no value is of its type, which names the fix, so
 * the compiler's error on it says what to do. It is still a `TValue`, so
 * options typed for any store (`StoreOption`, the default) spread into a
 * call with a store URL.
 */
type StoreUrlOnly<TStore, TValue, TFix extends string> = TStore extends string ? TValue : TValue & { readonly [fix in TFix]: true };

/**
 * With a definition of your own user (`initGatehouse({ user })`),
 * `accounts` is required: the built-in accounts directory serves only the
 * built-in user.
 */
export type AccountsRequirement<TUser extends { id: string }, TBuiltInUser extends boolean> = true extends TBuiltInUser
  ? unknown
  : {
      /** Your user table: required, since `initGatehouse({ user })` defines your own user. */
      accounts: AccountsAdapter<TUser>;
    };

/**
 * Everything `createGatehouse` accepts. Only `keys` is required (and
 * `accounts` with your own user); every other option has a secure
 * default, listed on it. A bad value is one `GatehouseOptionsError` naming
 * the option and the fix; what the types can see (a namespace or deadline
 * next to a store you opened, `TStore`) they refuse already.
 */
export interface GatehouseOptions<TUser extends { id: string } = User, TStore extends StoreOption = StoreOption> {
  /**
   * Secrets, newest first, each at least 32 characters: the first signs
   * cookies and seals stored records, all of them verify and open (key
   * rotation). Generate one with `openssl rand -base64 48`.
   */
  keys: readonly string[];
  /**
   * `memory://` (default: one process, gone on restart), `sqlite://path`,
   * `redis://…`, `rediss://…`, `redis+cluster://host:port,host:port`,
   * `redis+sentinel://host:26379,host:26379/<master name>` (`rediss+…` for
   * TLS), `postgres://…`, or a store instance.
   */
  store?: TStore;
  /**
   * Prefix of every store key (default `gatehouse`): several apps can share
   * one Redis or database. For a store URL; a store you opened keeps the
   * namespace it was opened with.
   */
  storeNamespace?: StoreUrlOnly<TStore, string, 'a store instance keeps the namespace it was opened with: openStore({ namespace }), keyvStore(..., { namespace }), redisStoreFor(..., { namespace })'>;
  /**
   * Deadline of each store operation (default `'1s'`); past it the request
   * is a 503. For a store URL; a store you opened keeps its own `timeoutMs`.
   */
  storeTimeout?: StoreUrlOnly<TStore, Duration, 'a store instance keeps the deadline it was opened with: openStore({ url, timeoutMs }), keyvStore(..., { timeoutMs }), redisStoreFor(..., { timeoutMs })'>;
  /** A session ends after this long without a request (default `'30m'`). */
  idleTimeout?: Duration;
  /** A session ends this long after login, however active (default `'12h'`). */
  absoluteTimeout?: Duration;
  /** Live sessions per user (default 10); a login beyond it ends that user's least recently used session. */
  maxSessionsPerUser?: number;
  /**
   * How recent a login `freshProcedure` (password change, ending sessions,
   * admin actions) asks for (default `'10m'`; ASVS 7.5.1, 7.5.3). Older
   * than that, the call is refused with 412 and the client re-authenticates.
   */
  freshLoginWindow?: Duration;
  /**
   * Your user table, for the built-in `auth.*`, `sessions.*` and `admin.*`
   * procedures (see `AccountsAdapter`). Default: Gatehouse's argon2id
   * directory in the store, for the built-in user. Required when
   * `initGatehouse` defines your own user.
   */
  accounts?: AccountsAdapter<TUser>;
  /**
   * Receives created, rotated, refreshed and ended session events (with
   * the reason), for audit logs. Runs after the request's work; a slow or
   * failing hook never blocks or breaks a request (failures are logged).
   */
  onSessionEvent?: SessionEventHook;
  /** How often an open stream (SSE subscription) checks that its session still exists (default `'2s'`). */
  streamCheckInterval?: Duration;
  cookie?: {
    /** Default `__Host-sid` when `secure`, else `sid`. */
    name?: string;
    /** Default `'lax'`. */
    sameSite?: 'lax' | 'strict';
    /**
     * `Secure` cookies (default true). A request that is not HTTPS (by the
     * connection, or by the trusted proxy) then gets no session cookie:
     * starting a session is refused with 403. Set false only for local
     * development over plain `http://`.
     */
    secure?: boolean;
    /**
     * On logout (any end of a session by the request), also send
     * `Clear-Site-Data: "cookies"` (default false). Browsers then drop every
     * cookie of the whole site, not only this origin's: your app's own
     * (a koa-session, a theme, a consent or CSRF cookie) and those of every
     * sibling subdomain (`other.example.com` when you are
     * `app.example.com`). Turn it on only when nothing else lives under
     * your registrable domain. Gatehouse's own cookie is expired either way.
     * Sent only to a secure context (HTTPS, or `http://localhost`): Chromium
     * ignores it elsewhere, and then drops the same answer's `Set-Cookie`.
     */
    clearSiteData?: boolean;
  };
  /**
   * Bearer sessions, for clients without a cookie jar (native apps, desktop
   * shells, CLIs): default false. A client asks for one at sign-in with the
   * request header `Gatehouse-Session: bearer`; the answer hands the token
   * over in its body (`token`) and in the `Gatehouse-Session-Token` header
   * (as every rotation does), and the client sends `Authorization: Bearer
   * <token>` from then on. The same sessions as cookies, carried otherwise.
   * With it on, `Authorization: Bearer` on any request is Gatehouse's.
   */
  bearer?: boolean;
  /**
   * Offers "stay signed in on this device" (default off): a login with
   * `staySignedIn: true` also gets a long-lived device credential (its own
   * cookie, or a header for bearer clients), stored only as hashes, which
   * starts a new session — not a fresh one — when the session has timed
   * out, and is replaced at every use; a replayed old one ends every
   * session and device credential of the user. `lifetime`: how long one
   * lives at most, however often it is used (default `'30d'`). See the
   * README for what this trades against NIST's reauthentication limits.
   */
  staySignedIn?: boolean | { lifetime?: Duration };
  /**
   * Behind one TLS-terminating proxy you control: trust the value it
   * appended (the last) of `X-Forwarded-Proto`, `-Host` and `-For`.
   * Default false: those headers are ignored.
   */
  trustProxy?: boolean;
  /** Exact origins (`https://app.example.com`) allowed to call mutations cross-origin, with credentials. */
  allowedOrigins?: readonly string[];
  /** Login and registration throttling. */
  throttle?: {
    /** Failed logins per account in the window before a block (default 5). */
    perAccount?: number;
    /** Failed logins per client address in the window (default 100: an office behind one NAT must keep working). */
    perAddress?: number;
    /** Registrations per client address in the window (default 20). */
    registerPerAddress?: number;
    /** Default `'15m'`. */
    window?: Duration;
  };
  /** A pino logger (default: JSON to stdout at `info`). Gatehouse logs with a request id; never a cookie or password. */
  logger?: Logger;
  /** Time as an input (tests move it); default the wall clock. */
  clock?: Clock;
  /** Password hashing for the built-in accounts (default argon2id, 19 MiB, t=2, p=1). */
  hasher?: PasswordHasher;
}

/** A bad option: the message names it and the fix. */
export class GatehouseOptionsError extends Error {
  override readonly name = 'GatehouseOptionsError';
}

/** The options after validation, defaults applied, durations in ms. Frozen. */
export interface ResolvedOptions<TUser extends { id: string } = User> {
  readonly keys: readonly string[];
  readonly store: StoreOption;
  readonly storeNamespace: string;
  readonly storeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly maxSessionsPerUser: number;
  readonly freshLoginWindowMs: number;
  readonly streamCheckIntervalMs: number;
  readonly accounts: AccountsAdapter<TUser> | undefined;
  readonly onSessionEvent: SessionEventHook | undefined;
  readonly cookie: { readonly name: string; readonly sameSite: 'lax' | 'strict'; readonly secure: boolean; readonly clearSiteData: boolean };
  readonly bearer: boolean;
  /** The lifetime of a "stay signed in" device credential, in ms; undefined when not offered. */
  readonly staySignedInMs: number | undefined;
  readonly trustProxy: boolean;
  readonly allowedOrigins: readonly string[];
  readonly throttle: { readonly perAccount: number; readonly perAddress: number; readonly registerPerAddress: number; readonly windowMs: number };
  readonly logger: Logger | undefined;
  readonly clock: Clock | undefined;
  readonly hasher: PasswordHasher | undefined;
}

export const MIN_KEY_LENGTH = 32;
const THIRTY_DAYS_MS = 30 * 24 * 3_600_000;

/** Browsers cap a cookie's lifetime at 400 days (RFC 6265bis; Chrome since 104): a longer device credential would end earlier than configured. */
const MAX_STAY_SIGNED_IN_MS = 400 * 86_400_000;

const duration = (fallback: Duration) =>
  z.union([z.number(), z.string()]).default(fallback).transform((value, ctx) => {
    const ms = parseDurationOption(value);
    if (typeof ms === 'string') {
      ctx.addIssue({ code: 'custom', message: ms });
      return z.NEVER;
    }
    return ms;
  });

const count = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number({ error: 'must be a whole number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }).max(max, { error: `must be at most ${max}` }).default(fallback);

const isStore = (value: unknown): value is KeyValueStore =>
  typeof value === 'object' && value !== null && ['get', 'set', 'compareAndSet', 'mapGetAll', 'close'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function');

/** A Keyv, or an adapter (get, set, delete, clear) that is not a Gatehouse store: handed over without `keyvStore`. */
const isKeyvLike = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && ['get', 'set', 'delete', 'clear'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function');

const originSchema = z.string().refine(
  (raw) => {
    try {
      const url = new URL(raw);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === raw.replace(/\/$/, '');
    } catch {
      return false;
    }
  },
  { error: (issue) => `must be an origin like https://app.example.com (scheme and host, no path), got "${String(issue.input)}"` },
);

const optionsSchema = z
  .object({
    keys: z
      .array(z.string({ error: 'must be strings' }).min(MIN_KEY_LENGTH, { error: `must be at least ${MIN_KEY_LENGTH} characters (generate one with: openssl rand -base64 48)` }), {
        error: (issue) =>
          issue.input === undefined
            ? 'is required: an array of secrets of 32+ characters, newest first (generate one with: openssl rand -base64 48)'
            : `must be an array of secrets, newest first: keys: [${typeof issue.input === 'string' ? 'yourSecret' : '…'}] (each 32+ characters; generate one with: openssl rand -base64 48)`,
      })
      .min(1, { error: 'must hold at least one secret of 32+ characters (generate one with: openssl rand -base64 48)' }),
    // One check, not a union: a union that fails reports only "Invalid input", never the fix.
    store: z
      .custom<StoreOption>((value) => (typeof value === 'string' ? storeUrlProblem(value) === undefined : isStore(value)), {
        error: (issue) =>
          typeof issue.input === 'string'
            ? (storeUrlProblem(issue.input) ?? 'must be a store URL')
            : isKeyvLike(issue.input)
              ? 'is a Keyv or a Keyv storage adapter: wrap it, store: await keyvStore(it, { timeoutMs: 1000 })'
              : 'must be a store URL or a store instance (openStore, redisStoreFor, keyvStore)',
      })
      .default('memory://'),
    storeNamespace: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'must be 1–64 characters of letters, digits, "_", "." and "-"' })
      .default('gatehouse'),
    storeTimeout: duration('1s'),
    idleTimeout: duration('30m'),
    absoluteTimeout: duration('12h'),
    maxSessionsPerUser: count(10, 1000),
    freshLoginWindow: duration('10m'),
    streamCheckInterval: duration('2s'),
    accounts: z
      .custom<AccountsAdapter<{ id: string }>>(
        (v) => v === undefined || (typeof v === 'object' && v !== null && ['authenticate', 'findById'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function')),
        { error: 'must be an accounts adapter with at least authenticate() and findById()' },
      )
      .optional(),
    onSessionEvent: z.custom<SessionEventHook>((v) => v === undefined || typeof v === 'function', { error: 'must be a function' }).optional(),
    cookie: z
      .object({
        name: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, { error: 'must be a cookie name (1–64 token characters)' }).optional(),
        sameSite: z.enum(['lax', 'strict'], { error: 'must be "lax" or "strict"' }).default('lax'),
        secure: z.boolean({ error: 'must be true or false' }).default(true),
        clearSiteData: z.boolean({ error: 'must be true or false' }).default(false),
      })
      .strict()
      .prefault({}),
    bearer: z.boolean({ error: 'must be true or false' }).default(false),
    staySignedIn: z
      .union([z.boolean(), z.object({ lifetime: duration('30d').refine((ms) => ms <= MAX_STAY_SIGNED_IN_MS, { error: 'must be at most 400 days: browsers cap a cookie\'s lifetime at 400 days, so a longer one would end earlier than it says' }) }).strict()], { error: 'must be true, false or { lifetime }' })
      .default(false)
      .transform((value) => (value === false ? undefined : value === true ? THIRTY_DAYS_MS : value.lifetime)),
    trustProxy: z.boolean({ error: 'must be true or false' }).default(false),
    allowedOrigins: z.array(originSchema).default([]),
    throttle: z
      .object({
        perAccount: count(5),
        perAddress: count(100),
        registerPerAddress: count(20),
        window: duration('15m'),
      })
      .strict()
      .prefault({}),
    logger: z.custom<Logger>((v) => v === undefined || (typeof v === 'object' && v !== null && typeof (v as Logger).child === 'function'), {
      error: 'must be a pino logger',
    }).optional(),
    clock: z.custom<Clock>((v) => v === undefined || (typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function'), {
      error: 'must have a now() method',
    }).optional(),
    hasher: z.custom<PasswordHasher>((v) => v === undefined || (typeof v === 'object' && v !== null && typeof (v as PasswordHasher).hash === 'function'), {
      error: 'must be a PasswordHasher (hash, verify, verifyDummy)',
    }).optional(),
  })
  .strict();

/**
 * Validates `createGatehouse`'s options once and applies the defaults.
 * Throws one `GatehouseOptionsError` listing every bad option by its path.
 */
export function resolveOptions<TUser extends { id: string }>(options: GatehouseOptions<TUser>): ResolvedOptions<TUser> {
  if (typeof options !== 'object' || options === null) throw new GatehouseOptionsError('createGatehouse needs an options object, e.g. createGatehouse({ keys: [process.env.SESSION_KEY] })');
  const parsed = optionsSchema.safeParse(options);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(describeIssue(issue, options));
    throw new GatehouseOptionsError(formatProblems(problems));
  }
  const o = parsed.data;
  if (o.absoluteTimeout < o.idleTimeout) problems.push('options.absoluteTimeout must be at least options.idleTimeout');
  if (options.storeNamespace !== undefined && typeof o.store !== 'string') {
    problems.push(
      'options.storeNamespace applies to store URLs only: a store instance keeps the namespace it was opened with (openStore({ namespace }), keyvStore(…, { namespace }), redisStoreFor(…, { namespace }))',
    );
  }
  if (options.storeTimeout !== undefined && typeof o.store !== 'string') {
    problems.push('options.storeTimeout applies to store URLs only: a store instance keeps the deadline it was opened with (openStore({ url, timeoutMs }), keyvStore(…, { timeoutMs }), redisStoreFor(…, { timeoutMs }))');
  }
  const name = o.cookie.name ?? (o.cookie.secure ? '__Host-sid' : 'sid');
  if ((name.startsWith('__Host-') || name.startsWith('__Secure-')) && !o.cookie.secure) {
    problems.push(`options.cookie.name "${name}" needs options.cookie.secure: true (browsers drop a ${name.split('-')[0]}- cookie without Secure)`);
  }
  if (problems.length > 0) throw new GatehouseOptionsError(formatProblems(problems));
  return Object.freeze({
    keys: Object.freeze([...o.keys]),
    store: o.store,
    storeNamespace: o.storeNamespace,
    storeTimeoutMs: o.storeTimeout,
    idleTimeoutMs: o.idleTimeout,
    absoluteTimeoutMs: o.absoluteTimeout,
    maxSessionsPerUser: o.maxSessionsPerUser,
    freshLoginWindowMs: o.freshLoginWindow,
    streamCheckIntervalMs: o.streamCheckInterval,
    accounts: o.accounts as AccountsAdapter<TUser> | undefined,
    onSessionEvent: o.onSessionEvent,
    cookie: Object.freeze({ name, sameSite: o.cookie.sameSite, secure: o.cookie.secure, clearSiteData: o.cookie.clearSiteData }),
    bearer: o.bearer,
    staySignedInMs: o.staySignedIn,
    trustProxy: o.trustProxy,
    allowedOrigins: Object.freeze(o.allowedOrigins.map((origin) => new URL(origin).origin)),
    throttle: Object.freeze({
      perAccount: o.throttle.perAccount,
      perAddress: o.throttle.perAddress,
      registerPerAddress: o.throttle.registerPerAddress,
      windowMs: o.throttle.window,
    }),
    logger: o.logger,
    clock: o.clock,
    hasher: o.hasher,
  });
}

const KNOWN = [
  'keys', 'store', 'storeNamespace', 'storeTimeout', 'idleTimeout', 'absoluteTimeout', 'maxSessionsPerUser', 'freshLoginWindow', 'accounts',
  'onSessionEvent', 'streamCheckInterval', 'cookie', 'bearer', 'staySignedIn', 'lifetime', 'trustProxy',
  'allowedOrigins', 'throttle', 'logger', 'clock', 'hasher', 'name', 'sameSite', 'secure', 'perAccount', 'perAddress', 'registerPerAddress', 'window',
];

function describeIssue(issue: z.core.$ZodIssue, options: object): string {
  const path = ['options', ...issue.path.map(String)].join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => {
        const guess = closest(key, KNOWN);
        return `${path}.${key} is not an option${guess ? ` (did you mean ${guess}?)` : ''}`;
      })
      .join('\n  - ');
  }
  const given = issue.path.reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey], options);
  // Never echo a key, nor a store URL (it may carry a password).
  const secret = path.startsWith('options.keys') || path === 'options.store';
  const shown = typeof given === 'string' && !secret ? ` (got "${given}")` : '';
  return `${path} ${issue.message}${issue.code === 'custom' || issue.message.includes('got "') ? '' : shown}`;
}

/** The known name nearest to a typo, if it is close (edit distance ≤ 2). */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function formatProblems(problems: string[]): string {
  return `Invalid Gatehouse options:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}
