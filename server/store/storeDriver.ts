import { redactUrl } from './redactUrl.js';

/** An optional peer package (a store's driver, or argon2 for the built-in accounts) and the versions Gatehouse is written against. */
export interface StoreDriver {
  readonly name: 'better-sqlite3' | 'pg' | 'redis' | 'keyv' | 'argon2';
  readonly range: string;
}

export const SQLITE_DRIVER: StoreDriver = { name: 'better-sqlite3', range: '^12' };
export const POSTGRES_DRIVER: StoreDriver = { name: 'pg', range: '^8' };
export const REDIS_DRIVER: StoreDriver = { name: 'redis', range: '^5' };
/** `keyvStore` wraps a bare storage adapter in a Keyv of its own (5.6: `throwOnErrors`, its serializer). */
export const KEYV_DRIVER: StoreDriver = { name: 'keyv', range: '~5.6' };

/**
 * Loads a store's driver when its URL is used (so a deployment on Redis
 * never loads SQLite's native module, and one without `pg` installed still
 * starts on SQLite). A driver that is not installed is one readable error
 * naming the package to install, instead of Node's resolver trace.
 *
 * @example const { default: pg } = await importDriver(POSTGRES_DRIVER, url, () => import('pg'));
 */
export async function importDriver<T>(driver: StoreDriver, url: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissingPackage(error, driver.name)) throw new Error(missingDriverMessage(driver, url), { cause: error });
    throw error;
  }
}

/**
 * `importDriver` for a store that has no URL: `neededBy` says what needs the
 * package (`keyvStore() was given a KeyvMysql adapter`).
 */
export async function importPackage<T>(driver: StoreDriver, neededBy: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissingPackage(error, driver.name)) throw new Error(missingPackageMessage(driver, neededBy), { cause: error });
    throw error;
  }
}

/** `the store sqlite://… (SESSION_STORE_URL or options.store) needs the better-sqlite3 package: npm install better-sqlite3@^12` */
export function missingDriverMessage(driver: StoreDriver, url: string): string {
  return `the store ${redactUrl(url)} (SESSION_STORE_URL or options.store) needs the ${driver.name} package: npm install ${driver.name}@${driver.range}`;
}

/** `<neededBy>, which needs the <package> package: npm install <package>@<range>` */
export function missingPackageMessage(driver: StoreDriver, neededBy: string): string {
  return `${neededBy}, which needs the ${driver.name} package: npm install ${driver.name}@${driver.range}`;
}


/** The package itself is missing (ESM or CommonJS resolution), not some module it imports. */
function isMissingPackage(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return typeof message === 'string' && (message.includes(`'${name}'`) || message.includes(`"${name}"`));
}
