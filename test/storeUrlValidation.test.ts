import { describe, expect, it } from 'vitest';
import { ConfigError, createGatehouse, GatehouseOptionsError, loadConfig } from '../server/index.js';
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
    ['redis+sentinel://s1/m?password=x', 'has an unknown parameter "password" (known: sentinelUsername, sentinelPassword)'],
    ['redis+cluster://a:7000,b:7001/0', 'has a path, but a Redis Cluster has a single database 0'],
    ['redis+cluster://a:7000,b:70001', 'has a host that is not host:port: "b:70001"'],
    ['redis+cluster://a:7000,,b:7001', 'has a host that is not host:port: ""'],
    ['redis+cluster://', 'names no host'],
    ['redis+cluster://a:1?tls=1', 'has an unknown parameter "tls" (a Cluster URL takes none)'],
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
