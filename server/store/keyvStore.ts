import type { KeyValueStore } from './keyValueStore.js';
import { type KeyvInstance, KeyvKeyValueStore } from './keyvKeyValueStore.js';
import { NAMESPACE } from './storeOptions.js';
import { importPackage, KEYV_DRIVER } from './storeDriver.js';

/**
 * A Keyv 5.6 instance, or a Keyv storage adapter: an `@keyv/*` package
 * (`new KeyvMysql(uri)`), a community one, or a plain `Map`.
 */
export interface KeyvOrAdapter {
  get(key: string): unknown;
  set(key: string, value: never, ttl?: number): unknown;
  delete(key: string): unknown;
  clear(): unknown;
}

export interface KeyvStoreOptions {
  /** Deadline of every store operation, in ms (`SESSION_STORE_TIMEOUT`'s value is `loadConfig().gatehouse.storeTimeout`). */
  timeoutMs: number;
  /**
   * Keyv's namespace (the prefix of every key) when you pass an adapter; default `gatehouse`.
   * A Keyv you built keeps the namespace you gave it.
   */
  namespace?: string;
  /** How logs name the adapter; default its class name (`KeyvMysql`). */
  name?: string;
  /** Called with the errors Keyv and the adapter emit (connection drops, …), for logging. */
  onError?: (error: unknown) => void;
}

/**
 * Any Keyv storage adapter as Gatehouse's store: `createGatehouse({ keys, store: await keyvStore(…) })`.
 * Store failures reject (Keyv's `throwOnErrors`), every operation has the
 * deadline `timeoutMs` (503 past it), maps are one value each.
 *
 * **One instance only.** An adapter has no conditional writes, so add,
 * replace, compareAndSet, delete, addToCounter and the session index are
 * made atomic by a per-key lock in this process; two processes on the same
 * storage could undo each other's writes. `createGatehouse` logs a warning
 * saying so when it starts. For several instances use `redis://`,
 * `postgres://` (or `sqlite://` on one machine).
 *
 * Given an adapter, it builds the Keyv itself (the optional peer `keyv`
 * ~5.6, loaded only here). Given a Keyv, it turns that Keyv's
 * `throwOnErrors` on: otherwise Keyv hides outages (a failed read is a
 * silent logout, a failed write a success).
 *
 * @example
 * import KeyvMysql from '@keyv/mysql';
 * const store = await keyvStore(new KeyvMysql({ uri: 'mysql://app@db:3306/app', table: 'gatehouse' }), { timeoutMs: 1000 });
 * const gatehouse = await createGatehouse({ keys: [process.env.SESSION_KEY!], store });
 */
export async function keyvStore(keyvOrAdapter: KeyvOrAdapter, options: KeyvStoreOptions): Promise<KeyValueStore> {
  if (!isAdapter(keyvOrAdapter)) {
    throw new TypeError(`keyvStore() needs a Keyv instance or a Keyv storage adapter (an object with get, set, delete and clear), got ${String(keyvOrAdapter)}`);
  }
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) throw new TypeError(`keyvStore(): options.timeoutMs must be a positive number of ms, got ${String(options.timeoutMs)}`);
  const given = isKeyv(keyvOrAdapter) ? keyvOrAdapter : undefined;
  const adapter = given ? given.store : keyvOrAdapter;
  const name = options.name ?? nameOf(adapter);
  // Touch the adapter before awaiting anything: one that connects in its constructor (@keyv/mysql) leaves a
  // rejected promise that nobody handles while its server is down, and Node ends the process for that.
  const firstContact = Promise.resolve().then(() => (adapter as KeyvOrAdapter).get(PROBE_KEY));
  firstContact.catch(() => undefined);

  let keyv: KeyvInstance;
  if (given) {
    if (typeof given.throwOnErrors !== 'boolean') {
      throw new TypeError(`keyvStore() needs Keyv 5.6 (this Keyv over ${name} has no throwOnErrors, so it would hide outages): npm install keyv@${KEYV_DRIVER.range}`);
    }
    // Without it Keyv turns a failed read into `undefined` (a silent logout) and a failed write into `false`.
    given.throwOnErrors = true;
    keyv = given;
  } else {
    const { Keyv } = await importPackage(KEYV_DRIVER, `keyvStore() was given a ${name} adapter`, () => import('keyv'));
    keyv = new Keyv({ store: adapter, namespace: options.namespace ?? NAMESPACE, throwOnErrors: true }) as unknown as KeyvInstance;
  }
  if (options.onError) keyv.on('error', options.onError);
  // Like openRedis: wait up to the deadline for a first answer, but start anyway (503 until the backend answers).
  await Promise.race([firstContact.catch((error: unknown) => options.onError?.(error)), new Promise((resolve) => setTimeout(resolve, options.timeoutMs).unref())]);
  return new KeyvKeyValueStore({ keyv, timeoutMs: options.timeoutMs, startupWarning: singleInstanceWarning(name), onError: options.onError });
}

/** What `createGatehouse` logs once at start on a Keyv store. */
export function singleInstanceWarning(name: string): string {
  return (
    `session store keyvStore(${name}) is single-instance: a Keyv adapter has no conditional writes, so add, replace, compareAndSet, delete, ` +
    `addToCounter and the per-user session index are atomic only inside this process (a per-key lock). Run one Gatehouse process on this storage: ` +
    `with two, a logout or revocation can be undone by a request in flight on the other, two racing password changes can both succeed, ` +
    `login-throttle counts can be lost, and a session can drop out of its user's index (so "end all sessions" misses it). ` +
    `For several instances use redis://, postgres://, or sqlite:// on one machine.`
  );
}

/** Read once at start to make first contact; never written. */
const PROBE_KEY = '__gatehouse_probe__';

const isAdapter = (value: unknown): value is KeyvOrAdapter =>
  typeof value === 'object' && value !== null && ['get', 'set', 'delete', 'clear'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function');

/** A Keyv instance (any copy of the package): it has what adapters do not, `getRaw` and its adapter as `store`. */
const isKeyv = (value: KeyvOrAdapter): value is KeyvOrAdapter & KeyvInstance =>
  typeof (value as Partial<Record<'getRaw', unknown>>).getRaw === 'function' && isAdapter((value as Partial<KeyvInstance>).store);

const nameOf = (adapter: object): string => (adapter as { constructor?: { name?: string } }).constructor?.name || 'adapter';
