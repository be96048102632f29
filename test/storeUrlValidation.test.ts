import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, createGatehouse, GatehouseOptionsError, loadConfig, openStore } from '../server/index.js';
import { parseRedisTopologyUrl } from '../server/store/redisTopologyUrl.js';
import { TEST_KEY } from './helpers/server.js';

const configError = (url: string): string => {
  try {
    loadConfig({ NODE_ENV: 'test', SESSION_KEYS: TEST_KEY, SESSION_STORE_URL: url });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`${url} was accepted`);
};

describe('the Redis Cluster and Sentinel URL forms', () => {
  it('a cluster URL names its seeds (port 6379 by default), decoded credentials, and TLS for rediss+', () => {
    expect(parseRedisTopologyUrl('rediss+cluster://app:p%40ss%2Fw@10.0.0.1:7000,node-2,[::1]:7002/')).toEqual({
      kind: 'cluster',
      tls: true,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'node-2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 'p@ss/w',
    });
    expect(parseRedisTopologyUrl('redis+cluster://:secret@a:1')).toMatchObject({ tls: false, username: undefined, password: 'secret' });
  });

  it('a sentinel URL names the sentinels (port 26379 by default), the master name, and the sentinels’ own credentials', () => {
    expect(parseRedisTopologyUrl('redis+sentinel://default:pw@s1,s2:26380/my-master?sentinelUsername=watch&sentinelPassword=s%26p')).toEqual({
      kind: 'sentinel',
      tls: false,
      nodes: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      username: 'default',
      password: 'pw',
      masterName: 'my-master',
      sentinelUsername: 'watch',
      sentinelPassword: 's&p',
    });
  });

  it.each([
    ['redis+sentinel://s1:26379,s2:26379', 'needs the name the sentinels monitor the master under as its path'],
    ['redis+sentinel://s1:26379/', 'needs the name the sentinels monitor the master under as its path'],
    ['redis+sentinel://s1/m?password=x', 'has an unknown parameter "password" (known: sentinelUsername, sentinelPassword, waitReplicas, waitTimeout)'],
    ['redis+cluster://a:7000,b:7001/0', 'has a path, but a Redis Cluster has a single database 0'],
    ['redis+cluster://a:7000,b:70001', 'has a host that is not host:port: "b:70001"'],
    ['redis+cluster://a:7000,,b:7001', 'has a host that is not host:port: ""'],
    ['redis+cluster://', 'names no host'],
    ['redis+cluster://a:1?tls=1', 'has an unknown parameter "tls" (known: waitReplicas, waitTimeout)'],
  ])('SESSION_STORE_URL=%s is refused: %s, and the message shows the form to write', (url, problem) => {
    const message = configError(url);
    expect(message).toContain(`SESSION_STORE_URL ${problem}`);
    expect(message).toMatch(/write redis\+(cluster|sentinel):\/\/\[user:password@\]host/);
  });

  it('an unknown scheme lists the new forms among the accepted ones', () => {
    expect(configError('redis-cluster://a:1')).toContain('must start with one of memory://, sqlite://, redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel://, rediss+sentinel://');
  });

  it('a refused URL never shows its passwords: the servers’ and the sentinels’', () => {
    const message = configError('redis+sentinel://app:hunter2@s1:26379?sentinelPassword=swordfish');
    expect(message).toContain('redis+sentinel://app:***@s1:26379?sentinelPassword=***');
    expect(message).not.toMatch(/hunter2|swordfish/);
  });

  it('a refused URL quotes a host or parameter only where the redacted URL shows it: after a secret parameter, it may be one', () => {
    expect(configError('redis+sentinel://s1/mymaster?sentinelPassword=x&other=1')).toContain('SESSION_STORE_URL has an unknown parameter (known: sentinelUsername, sentinelPassword, waitReplicas, waitTimeout)');
    expect(configError('redis+sentinel://s1/mymaster?other=1')).toContain('SESSION_STORE_URL has an unknown parameter "other" (known:');
  });

  it('valid forms pass the environment check unchanged', () => {
    const url = 'redis+sentinel://:pw@s1:26379,s2:26379/mymaster';
    expect(loadConfig({ NODE_ENV: 'test', SESSION_KEYS: TEST_KEY, SESSION_STORE_URL: url }).gatehouse.store).toBe(url);
  });

  it('createGatehouse({ store }) checks the same forms with the same message, before opening anything', async () => {
    const attempt = createGatehouse({ keys: [TEST_KEY], store: 'redis+cluster://app:hunter2@a:7000,b:x' });
    await expect(attempt).rejects.toBeInstanceOf(GatehouseOptionsError);
    await expect(attempt).rejects.toThrow('options.store has a host that is not host:port: "b:x" (got "redis+cluster://app:***@a:7000,b:x")');
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });
});

// Issue 18 §4: a password with an unencoded "/", "?" or "#" made every URL parser end the host inside it.
describe('store URLs whose password cannot be told from their host', () => {
  const AMBIGUOUS = 'SESSION_STORE_URL has "/", "?" or "#" before its last "@", so its password cannot be told from its host: percent-encode them in the user name and password (%2F, %3F, %23), and an "@" after the host (%40)';

  it.each([
    ['postgres://app:pa/ss@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['postgresql://app:pa?ss@db/app', 'postgresql://app:***@db/app'],
    ['redis://default:pa#ss@cache:6379', 'redis://default:***@cache:6379'],
    ['rediss://:pa/ss@cache:6380', 'rediss://:***@cache:6380'],
    ['redis+cluster://app:long/piece@10.0.0.1:7000,10.0.0.2:7001', 'redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7001'],
    ['redis+sentinel://app:pa?ss@s1,s2/mymaster', 'redis+sentinel://app:***@s1,s2/mymaster'],
    ['postgres://db/app?application_name=me@host', 'postgres://db/app?application_name=me@host'],
  ])('SESSION_STORE_URL=%s is refused at start with the fix, showing %s', (url, shown) => {
    const message = configError(url);
    expect(message).toContain(`${AMBIGUOUS} (got "${shown}")`);
  });

  it('a percent-encoded password, and an "@" in it written as it is, are accepted', () => {
    for (const url of ['postgres://app:pa%2Fss%3Fw%23rd@db/app', 'redis://default:p@ss@cache:6379', 'redis+cluster://app:p@ss@a:7000,b:7001']) {
      expect(loadConfig({ NODE_ENV: 'test', SESSION_KEYS: TEST_KEY, SESSION_STORE_URL: url }).gatehouse.store).toBe(url);
    }
  });

  it('a scheme without "//" is refused without quoting the rest', () => {
    const message = configError('redis:default:hunter2@cache:6379');
    expect(message).toContain('SESSION_STORE_URL must start with one of memory://, sqlite://, redis://');
    expect(message).not.toContain('hunter2');
  });

  it('a SQLite URL with a user name and password is refused (its path would be created with the password in it)', () => {
    expect(configError('sqlite://app:hunter2@data/gatehouse.sqlite')).toContain(
      'SESSION_STORE_URL takes a file path, not a user name and password (got "sqlite://app:***@data/gatehouse.sqlite"); write sqlite://<path>',
    );
  });

  it('openStore refuses what SESSION_STORE_URL refuses, before opening anything, with the same words', async () => {
    await expect(openStore({ url: 'postgres://app:pa/ss@127.0.0.1:1/app', timeoutMs: 100 })).rejects.toThrow(
      `openStore: the url ${AMBIGUOUS.replace('SESSION_STORE_URL ', '')} (got "postgres://app:***@127.0.0.1:1/app")`,
    );
    await expect(openStore({ url: 'hunter2-is-the-password', timeoutMs: 100 })).rejects.toThrow(/^openStore: the url must start with one of memory:\/\/, /);
  });

  it('an error a driver throws while opening carries no password: Node\'s "Invalid URL" keeps the whole URL in its input field', async () => {
    const error: unknown = await openStore({ url: 'redis://app:hunter2@cache:port6379', timeoutMs: 100 }).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'ERR_INVALID_URL', input: 'redis://app:***@cache:port6379' });
    expect(inspect(error)).not.toContain('hunter2');
  });
});
