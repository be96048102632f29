import fc from 'fast-check';

/**
 * Characters Gatehouse never prints of its own (its messages, logs and
 * banner are ASCII plus "…" and "–"): output holding one of them took it
 * from a password.
 */
const rareChar = fc.oneof(
  fc.constantFrom('é', 'ß', 'ñ', 'ü', 'Ω', '雪', '密', '🔑'),
  fc.integer({ min: 0x0410, max: 0x044f }).map((code) => String.fromCodePoint(code)), // Cyrillic letters
  fc.integer({ min: 0x4e00, max: 0x9fff }).map((code) => String.fromCodePoint(code)), // CJK ideographs
  fc.integer({ min: 0x1f300, max: 0x1f5ff }).map((code) => String.fromCodePoint(code)), // pictographs (two UTF-16 units)
);
/** What makes a URL malformed, as often as letters and digits. */
const plainChar = fc.oneof(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), fc.constantFrom(...'/?#@:% '));
/** Percent-escapes, decodable (`%2F` is "/") and broken (`%E9` alone is no UTF-8, `%zz` no hex). */
const escape = fc.constantFrom('%2F', '%3F', '%23', '%40', '%3A', '%25', '%20', '%E9', '%zz');

/**
 * A password of 12 or more characters with `/ ? # @ : %`, spaces,
 * percent-escapes and unicode. At most three ASCII characters in a row, so
 * every piece of four holds a character Gatehouse never prints: a piece
 * found in the output is a leak, never a coincidence with a word, a port
 * or a timestamp.
 */
export const storePassword = fc
  .array(fc.tuple(fc.oneof(fc.string({ unit: plainChar, maxLength: 3 }), escape), rareChar), { minLength: 6, maxLength: 16 })
  .map((groups) => groups.map(([plain, rare]) => plain + rare).join(''))
  .filter((password) => [...password].length >= 12);

/** Where the generated URLs point. The process tests give addresses that refuse at once, or the test PostgreSQL. */
export interface StoreHosts {
  readonly redis: string;
  readonly clusterNodes: readonly string[];
  readonly sentinels: readonly string[];
  readonly postgres: string;
  /** A directory for SQLite files (absolute). */
  readonly sqliteDir: string;
}

/** A generated store URL and the passwords in it, as generated (before any encoding). */
export interface StoreUrlCase {
  readonly shape: string;
  readonly url: string;
  readonly passwords: readonly string[];
}

/** The parts one URL is built from. */
interface Parts {
  readonly user: string;
  /** The servers' password and a second secret for a query parameter, already encoded or not. */
  readonly password: string;
  readonly secondPassword: string;
  /** A parameter whose name says it holds a secret. */
  readonly param: string;
}

type Shape = (parts: Parts, hosts: StoreHosts) => string;

/** Every form the store accepts, and malformed ones. */
export const SHAPES = {
  redis: ({ user, password }, h) => `redis://${user}:${password}@${h.redis}/0`,
  'rediss with a secret parameter': ({ user, password, param, secondPassword }, h) => `rediss://${user}:${password}@${h.redis}?${param}=${secondPassword}`,
  'redis+cluster': ({ user, password }, h) => `redis+cluster://${user}:${password}@${h.clusterNodes.join(',')}`,
  'rediss+cluster with a parameter it refuses': ({ user, password, param, secondPassword }, h) =>
    `rediss+cluster://${user}:${password}@${h.clusterNodes.join(',')}?${param}=${secondPassword}`,
  'redis+sentinel with sentinelPassword': ({ user, password, secondPassword }, h) =>
    `redis+sentinel://${user}:${password}@${h.sentinels.join(',')}/mymaster?sentinelUsername=watch&sentinelPassword=${secondPassword}`,
  postgres: ({ user, password }, h) => `postgres://${user}:${password}@${h.postgres}/test`,
  'postgresql with a secret parameter': ({ user, password, param, secondPassword }, h) =>
    `postgresql://${user}:${password}@${h.postgres}/test?sslmode=disable&${param}=${secondPassword}`,
  'sqlite with a secret parameter': ({ param, secondPassword }, h) => `sqlite://${h.sqliteDir}/gatehouse.sqlite?${param}=${secondPassword}`,
  'sqlite with user info': ({ user, password }, h) => `sqlite://${user}:${password}@${h.sqliteDir}/gatehouse.sqlite`,
  'memory with user info': ({ user, password }) => `memory://${user}:${password}@`,
  'redis without a host': ({ user, password }) => `redis://${user}:${password}@`,
  'postgres without a host': ({ user, password }) => `postgres://${user}:${password}@/test`,
  'redis without //': ({ user, password }, h) => `redis:${user}:${password}@${h.redis}`,
  'no scheme': ({ user, password }, h) => `${user}:${password}@${h.redis}`,
  'the password alone': ({ password }) => password,
  'an unknown scheme': ({ user, password }, h) => `mysql://${user}:${password}@${h.postgres}/test`,
} satisfies Record<string, Shape>;

export type ShapeName = keyof typeof SHAPES;

const SECRET_PARAMS = ['password', 'sentinelPassword', 'pass', 'pwd', 'secret', 'token', 'auth'];

/**
 * Store URLs of the given shapes (all by default) with generated passwords,
 * percent-encoded or written as they are.
 */
export function storeUrlCase(hosts: StoreHosts, shapes: readonly ShapeName[] = Object.keys(SHAPES) as ShapeName[]): fc.Arbitrary<StoreUrlCase> {
  return fc
    .record({
      shape: fc.constantFrom(...shapes),
      user: fc.constantFrom('', 'app', 'default'),
      password: storePassword,
      secondPassword: storePassword,
      param: fc.constantFrom(...SECRET_PARAMS),
      encoded: fc.boolean(),
    })
    .map((c) => buildCase(c.shape, hosts, c));
}

/** One case, by hand: for examples a property always runs. */
export function buildCase(
  shape: ShapeName,
  hosts: StoreHosts,
  c: { user: string; password: string; secondPassword: string; param: string; encoded: boolean },
): StoreUrlCase {
  const write = (secret: string) => (c.encoded ? encodeURIComponent(secret) : secret);
  const url = SHAPES[shape]({ user: c.user, password: write(c.password), secondPassword: write(c.secondPassword), param: c.param }, hosts);
  // Only the passwords the shape put in the URL: nothing can hide one it never saw.
  return { shape, url, passwords: [c.password, c.secondPassword].filter((password) => url.includes(write(password))) };
}
