import { withDeadline } from './deadline.js';
import { COUNTER_TTL_SLACK_MS } from './counter.js';
import type { Counter, KeyValueStore, WriteOptions } from './keyValueStore.js';
import { KEYV_WRAPPED, unwrapKeyv } from './legacyKeyv.js';
import type { RedisClient, RedisCommands, RedisScanner } from './redisClient.js';
import type { ReplicaWaitLanes } from './replicaWaitLanes.js';

export interface RedisKeyValueStoreOptions {
  client: RedisClient;
  /** Put before every key: `<namespace>::`, as @keyv/redis did, so keys written by earlier versions are found. */
  keyPrefix: string;
  timeoutMs: number;
  close: () => Promise<void>;
  /** `waitReplicas`: durable writes go on these lanes and wait for the replicas (see `ReplicaWaitLanes`). */
  lanes?: ReplicaWaitLanes | undefined;
}

/**
 * Redis with native commands, shared safely by any number of processes:
 * plain `GET`/`SET … PX` (values stored as they are, no wrapper: issue 5's
 * bytes per session), `SET … NX`/`SET … XX` for add and replace, a Lua
 * script (`EVAL`, run by Redis as one step) for compareAndSet and
 * addToCounter, and a hash per map. Every command and script touches one
 * key, so it runs unchanged on Redis Cluster without hash tags. Values
 * written by earlier versions in Keyv's wrapper are still read (users must
 * survive an upgrade).
 *
 * With `waitReplicas` (`lanes`), a durable write (`WriteOptions`) runs on
 * its master's own connection and is answered once the replicas have it
 * (`ReplicaWaitLanes`), or rejected with `StoreUnconfirmedError`.
 */
export class RedisKeyValueStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  /** Connected once at open and reconnecting by itself; while offline every command fails at once. */
  readonly #redis: RedisClient;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;
  readonly #close: () => Promise<void>;
  readonly #lanes: ReplicaWaitLanes | undefined;

  constructor(options: RedisKeyValueStoreOptions) {
    this.#redis = options.client;
    this.#keyPrefix = options.keyPrefix;
    this.#timeoutMs = options.timeoutMs;
    this.#close = options.close;
    this.#lanes = options.lanes;
  }

  #key(key: string): string {
    return `${this.#keyPrefix}${key}`;
  }

  #op<T>(name: string, run: () => Promise<T>, timeoutMs = this.#timeoutMs): Promise<T> {
    const done = withDeadline(name, timeoutMs, run);
    // A cluster takes a failure as a hint that a master may have moved (ClusterTopology).
    if (this.#redis.suspect) done.catch(() => this.#redis.suspect?.());
    return done;
  }

  /**
   * A write on `key`: on the store's connection, or, durable with `waitReplicas`, on its master's lane followed
   * by a WAIT. Its deadline then also covers the WAIT (and one before it that the write may queue behind).
   */
  #write<T>(name: string, key: string, write: WriteOptions | undefined, run: (redis: RedisCommands) => Promise<T>): Promise<T> {
    const lanes = this.#lanes;
    if (!write?.durable || !lanes) return this.#op(name, () => run(this.#redis));
    return this.#op(name, () => lanes.run(name, this.#key(key), run), this.#timeoutMs + 2 * lanes.timeoutMs);
  }

  get(key: string): Promise<string | undefined> {
    return this.#op('get', async () => unwrap(await this.#redis.get(this.#key(key))));
  }

  async set(key: string, value: string, ttlMs: number, write?: WriteOptions): Promise<void> {
    await this.#write('set', key, write, (redis) => redis.set(this.#key(key), value, expiryOf(ttlMs)));
  }

  add(key: string, value: string, ttlMs: number, write?: WriteOptions): Promise<boolean> {
    return this.#conditionalSet('add', 'NX', key, value, ttlMs, write);
  }

  replace(key: string, value: string, ttlMs: number, write?: WriteOptions): Promise<boolean> {
    return this.#conditionalSet('replace', 'XX', key, value, ttlMs, write);
  }

  #conditionalSet(name: string, condition: 'NX' | 'XX', key: string, value: string, ttlMs: number, write: WriteOptions | undefined): Promise<boolean> {
    return this.#write(name, key, write, async (redis) => (await redis.set(this.#key(key), value, { condition, ...expiryOf(ttlMs) })) === 'OK');
  }

  compareAndSet(key: string, expected: string, next: string, ttlMs: number, write?: WriteOptions): Promise<boolean> {
    return this.#write('compareAndSet', key, write, async (redis) => {
      const result = await redis.eval(COMPARE_AND_SET, {
        keys: [this.#key(key)],
        arguments: [expected, next, String(pxOf(ttlMs)), String(Date.now())],
      });
      return result === 1;
    });
  }

  addToCounter(key: string, delta: number, nowMs: number, windowMs: number): Promise<Counter> {
    return this.#op('addToCounter', async () => {
      const reply = (await this.#redis.eval(ADD_TO_COUNTER, {
        keys: [this.#key(key)],
        arguments: [String(delta), String(nowMs), String(windowMs), String(COUNTER_TTL_SLACK_MS)],
      })) as [number, number];
      return { count: Number(reply[0]), expiresAt: Number(reply[1]) };
    });
  }

  delete(key: string, write?: WriteOptions): Promise<boolean> {
    return this.#write('delete', key, write, async (redis) => (await redis.unlink(this.#key(key))) > 0);
  }

  take(key: string, write?: WriteOptions): Promise<string | undefined> {
    return this.#write('take', key, write, async (redis) => unwrap(await redis.getDel(this.#key(key))));
  }

  increment(key: string, write?: WriteOptions): Promise<number> {
    return this.#write('increment', key, write, async (redis) => Number(await redis.eval(INCREMENT, { keys: [this.#key(key)], arguments: [] })));
  }

  mapSet(key: string, field: string, value: string, ttlMs: number, write?: WriteOptions): Promise<void> {
    return this.#write('mapSet', key, write, async (redis) => {
      const redisKey = this.#key(key);
      const ttl = pxOf(ttlMs);
      // The WAIT (if durable) follows the MULTI, never inside it: there it would not block.
      const multi = redis.multi().hSet(redisKey, field, encodeField(value, ttl !== 0 ? Date.now() + ttl : 0));
      if (ttl !== 0) {
        // NX gives a new hash its TTL; GT only ever extends an existing one. Atomic in MULTI (Redis ≥ 7.0).
        multi.pExpire(redisKey, ttl, 'NX').pExpire(redisKey, ttl, 'GT');
      } else {
        multi.persist(redisKey);
      }
      await multi.exec();
    });
  }

  mapDelete(key: string, field: string, write?: WriteOptions): Promise<void> {
    return this.#write('mapDelete', key, write, async (redis) => {
      // Redis drops the hash itself when its last field goes.
      await redis.hDel(this.#key(key), field);
    });
  }

  mapGetAll(key: string): Promise<Map<string, string>> {
    return this.#op('mapGetAll', async () => {
      const raw = await this.#redis.hGetAll(this.#key(key));
      const now = Date.now();
      const map = new Map<string, string>();
      for (const [field, text] of Object.entries(raw)) {
        const entry = decodeField(text);
        if (entry && (entry.exp === 0 || entry.exp > now)) map.set(field, entry.value);
      }
      return map;
    });
  }

  /**
   * Walks the keyspace with `SCAN … MATCH <keyPrefix><prefix>* COUNT 1000`
   * (every master of a cluster) until `limit` keys or the end. Each step has
   * the store's deadline, not the whole walk: on a large keyspace it takes
   * many round trips. Redis drops expired keys itself, and SCAN leaves out
   * those it finds expired; a key may come twice in a walk, so they are
   * deduplicated.
   */
  async keysWithPrefix(prefix: string, limit: number): Promise<string[]> {
    const match = `${escapeGlob(this.#keyPrefix + prefix)}*`;
    const found = new Set<string>();
    if (limit <= 0) return [];
    for (const server of await this.#scanners()) {
      let cursor = '0';
      do {
        const reply = await this.#op('keysWithPrefix', () => server.scan(cursor, { MATCH: match, COUNT: SCAN_COUNT }));
        for (const key of reply.keys) if (found.size < limit) found.add(key.slice(this.#keyPrefix.length));
        cursor = reply.cursor;
      } while (cursor !== '0' && found.size < limit);
      if (found.size >= limit) break;
    }
    return [...found];
  }

  /** The servers whose keys together are the whole keyspace: a cluster's masters, else the one server. */
  async #scanners(): Promise<RedisScanner[]> {
    const redis = this.#redis;
    if (redis.masters) return this.#op('keysWithPrefix', () => redis.masters!());
    if (redis.scan) return [{ scan: (cursor, options) => redis.scan!(cursor, options) }];
    throw new Error('this Redis client has no SCAN: keysWithPrefix needs a node-redis client, cluster or sentinel client');
  }

  async ping(): Promise<void> {
    await this.#op('ping', () => this.#redis.ping());
  }

  /** Redis expires keys by itself. */
  sweepExpired(): Promise<number> {
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    this.#lanes?.close();
    return this.#close();
  }
}

/**
 * SET only if the live value is exactly ARGV[1]. A value an earlier version
 * stored in Keyv's wrapper is compared by what `get` reads from it (its
 * inner value, if its own `expires` has not passed at ARGV[4]), so an
 * account written before the upgrade can still be changed. ARGV[3] is the
 * TTL in ms (0: no expiry). One key: Cluster routes it to its slot.
 */
const COMPARE_AND_SET = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local live = raw
if string.sub(raw, 1, ${KEYV_WRAPPED.length}) == '${KEYV_WRAPPED}' then
  local ok, wrapped = pcall(cjson.decode, raw)
  live = nil
  if ok and type(wrapped) == 'table' and type(wrapped.value) == 'string'
    and not (type(wrapped.expires) == 'number' and wrapped.expires <= tonumber(ARGV[4])) then
    live = wrapped.value
    if string.sub(live, 1, 1) == ':' then live = string.sub(live, 2) end
  end
end
if live ~= ARGV[1] then return 0 end
local px = tonumber(ARGV[3])
if px > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', px) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1`;

/** KeyValueStore.increment: a value that is not a plain integer starts over at 1; the key never expires. */
const INCREMENT = `
local raw = redis.call('GET', KEYS[1])
local current = raw and string.match(raw, '^%d+$') and tonumber(raw) or 0
local next = current + 1
redis.call('SET', KEYS[1], string.format('%d', next))
return next`;

/** The counter semantics of KeyValueStore.addToCounter, in one step. Values are '<count>|<expiresAt>'. */
const ADD_TO_COUNTER = `
local delta, now, window, slack = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local raw = redis.call('GET', KEYS[1])
local count, expires
if raw then
  local bar = string.find(raw, '|', 1, true)
  if bar then
    count = tonumber(string.sub(raw, 1, bar - 1))
    expires = tonumber(string.sub(raw, bar + 1))
  end
end
if count == nil or expires == nil or (expires > 0 and expires <= now) then
  if delta <= 0 then return {0, 0} end
  count = delta
  if window > 0 then expires = now + window else expires = 0 end
else
  count = count + delta
end
local value = string.format('%d|%d', count, expires)
if expires > 0 then redis.call('SET', KEYS[1], value, 'PX', math.max(1, math.floor(expires - now + slack))) else redis.call('SET', KEYS[1], value) end
return {count, expires}`;

/** Keys per SCAN step: a hint to Redis, which may answer more or fewer. */
const SCAN_COUNT = 1_000;

/** `text` matched literally by a Redis glob pattern: its specials (`* ? [ ] \`) escaped with a backslash. */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/** A TTL for `SET … PX`: 0 means none (kept until deleted); any other is at least 1 ms, so a negative one expires at once. */
const pxOf = (ttlMs: number) => (ttlMs === 0 ? 0 : Math.max(1, Math.ceil(ttlMs)));

const expiryOf = (ttlMs: number) => (ttlMs !== 0 ? { expiration: { type: 'PX' as const, value: pxOf(ttlMs) } } : {});

function unwrap(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  if (!raw.startsWith(KEYV_WRAPPED)) return raw;
  const entry = unwrapKeyv(raw);
  if (!entry) return undefined;
  return entry.expires !== undefined && entry.expires <= Date.now() ? undefined : entry.value;
}

/**
 * A map field as `<expiry, base 36 ms, 0 = never>|<value>`: short enough
 * (≤ 64 bytes for a session index entry) that Redis keeps small hashes in
 * its compact listpack encoding. Fields written as JSON by earlier versions
 * are still read.
 */
const encodeField = (value: string, exp: number) => `${exp.toString(36)}|${value}`;

function decodeField(text: string): { value: string; exp: number } | undefined {
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { v?: unknown; exp?: unknown };
      return typeof parsed.v === 'string' && typeof parsed.exp === 'number' ? { value: parsed.v, exp: parsed.exp } : undefined;
    } catch {
      return undefined;
    }
  }
  const bar = text.indexOf('|');
  const exp = bar > 0 ? Number.parseInt(text.slice(0, bar), 36) : Number.NaN;
  return Number.isFinite(exp) ? { value: text.slice(bar + 1), exp } : undefined;
}
