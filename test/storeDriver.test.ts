import { describe, expect, it } from 'vitest';
import { redactUrl } from '../server/store/redactUrl.js';
import { importDriver, missingDriverMessage, POSTGRES_DRIVER, REDIS_DRIVER, SQLITE_DRIVER } from '../server/store/storeDriver.js';
import { run } from './helpers/run.js';

/** What Node throws for `import('x')` when x is not installed (ESM), and `require('x')` (CommonJS). */
const notFound = (name: string, code = 'ERR_MODULE_NOT_FOUND') =>
  Object.assign(new Error(`Cannot find package '${name}' imported from /app/server/store/openSqlite.ts`), { code });

describe('loading a store driver only when its URL is used', () => {
  it('a missing driver is one error naming the URL, the package and the install command', async () => {
    const opening = importDriver(SQLITE_DRIVER, 'sqlite://data/gatehouse.sqlite', () => Promise.reject(notFound('better-sqlite3')));
    await expect(opening).rejects.toThrow(
      'the store sqlite://data/gatehouse.sqlite (SESSION_STORE_URL or options.store) needs the better-sqlite3 package: npm install better-sqlite3@^12',
    );
    await expect(importDriver(POSTGRES_DRIVER, 'postgres://db/app', () => Promise.reject(notFound('pg', 'MODULE_NOT_FOUND')))).rejects.toThrow(
      'the store postgres://db/app (SESSION_STORE_URL or options.store) needs the pg package: npm install pg@^8',
    );
  });

  it('never prints the password of a store URL (D2)', () => {
    expect(missingDriverMessage(REDIS_DRIVER, 'rediss://:s3cret@redis.internal:6379')).toBe(
      'the store rediss://:***@redis.internal:6379 (SESSION_STORE_URL or options.store) needs the redis package: npm install redis@^5',
    );
    expect(missingDriverMessage(POSTGRES_DRIVER, 'postgres://app:s3cret@db:5432/app')).toContain('postgres://app:***@db:5432/app (');
    expect(missingDriverMessage(SQLITE_DRIVER, 'sqlite://data/gatehouse.sqlite?synchronous=full')).toContain('sqlite://data/gatehouse.sqlite?synchronous=full (');
  });

  it('a module missing inside an installed driver, or any other failure, is passed on as it is', async () => {
    const inner = notFound('pg-pool');
    await expect(importDriver(POSTGRES_DRIVER, 'postgres://db/app', () => Promise.reject(inner))).rejects.toBe(inner);
    const other = new Error('boom');
    await expect(importDriver(REDIS_DRIVER, 'redis://r', () => Promise.reject(other))).rejects.toBe(other);
  });

  it.each([
    ['better-sqlite3', 'sqlite://data/gatehouse.sqlite', 'npm install better-sqlite3@^12'],
    ['pg', 'postgres://postgres:s3cret@127.0.0.1:1/test', 'npm install pg@^8'],
    ['redis', 'redis://127.0.0.1:1', 'npm install redis@^5'],
  ])('in a process where %s is not installed, openStore says so (and nothing else)', async (hidden, url, install) => {
    const result = await run(process.execPath, ['--import', 'tsx', 'test/helpers/openWithoutDriver.ts', hidden, url]);
    expect(result.code).toBe(1);
    expect(result.stdout.trim()).toBe(`the store ${redactUrl(url)} (SESSION_STORE_URL or options.store) needs the ${hidden} package: ${install}`);
  });
});
