import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.js';
import { openStore } from '../server/store/openStore.js';

describe('choosing where in the store Gatehouse writes', () => {
  it('SESSION_STORE_NAMESPACE defaults to gatehouse', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).gatehouse.storeNamespace).toBe('gatehouse');
  });

  it('a SESSION_STORE_NAMESPACE with a separator or space is refused with a message naming the variable and the rule', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', SESSION_STORE_NAMESPACE: 'team a:prod' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'test', SESSION_STORE_NAMESPACE: 'team a:prod' })).toThrow(
      'SESSION_STORE_NAMESPACE must be 1–64 characters of letters, digits, "_", "." and "-"',
    );
  });

  it('two namespaces in one SQLite file do not see each other’s keys, and a LIKE wildcard in one does not sweep the other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ns-'));
    const url = `sqlite://${join(dir, 'shared.sqlite')}`;
    const wild = await openStore({ url, timeoutMs: 1_000, namespace: 'team_a' });
    const other = await openStore({ url, timeoutMs: 1_000, namespace: 'teamXa' });
    try {
      await wild.set('k', 'from-a', 60_000);
      await other.set('k', 'from-x', 1);
      expect(await wild.get('k')).toBe('from-a');
      await other.set('gone', 'x', 1);
      // team_a's sweep must not treat "_" as "any character" and touch teamXa's expired rows.
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await wild.sweepExpired(100)).toBe(0);
      expect(await other.sweepExpired(100)).toBe(2);
    } finally {
      await wild.close();
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a PostgreSQL table name that is not a plain identifier is refused before any connection', async () => {
    await expect(openStore({ url: 'postgres://postgres@127.0.0.1:1/test', timeoutMs: 300, table: 'keyv; DROP TABLE x' })).rejects.toThrow(
      'invalid PostgreSQL table name "keyv; DROP TABLE x" (use [a-z0-9_])',
    );
  });
});
