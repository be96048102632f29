import { describe, expect, it } from 'vitest';
import { redactUrl, secretScrubber } from '../server/store/redactUrl.js';

describe('store URLs in output (D2)', () => {
  it.each([
    ['redis://default:s3cret@cache:6379/0', 'redis://default:***@cache:6379/0'],
    ['rediss://:s3cret@cache:6380', 'rediss://:***@cache:6380'],
    ['postgres://app:p%40ss@db.internal:5432/app', 'postgres://app:***@db.internal:5432/app'],
    ['postgres://app@db/app?sslmode=require&password=s3cret', 'postgres://app@db/app?sslmode=require&password=***'],
    ['redis://cache:6379', 'redis://cache:6379'],
    ['sqlite://data/gatehouse.sqlite', 'sqlite://data/gatehouse.sqlite'],
    ['memory://', 'memory://'],
    ['redis://default:p@ss@cache:6379', 'redis://default:***@cache:6379'],
    ['redis+cluster://app:s3cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002', 'redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002'],
    ['rediss+cluster://:s3cret@node-1:6379,node-2:6379', 'rediss+cluster://:***@node-1:6379,node-2:6379'],
    [
      'redis+sentinel://app:s3cret@s1:26379,s2:26379,s3:26379/mymaster?sentinelUsername=watch&sentinelPassword=t0p',
      'redis+sentinel://app:***@s1:26379,s2:26379,s3:26379/mymaster?sentinelUsername=watch&sentinelPassword=***',
    ],
    ['redis+sentinel://s1,s2/mymaster', 'redis+sentinel://s1,s2/mymaster'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('a scrubber removes the password from any text, encoded or not, and the whole URL', () => {
    const scrub = secretScrubber('postgres://app:p%40ss@db:5432/app');
    expect(scrub('connect to postgres://app:p%40ss@db:5432/app failed (password p@ss, p%40ss)')).toBe(
      'connect to postgres://app:***@db:5432/app failed (password ***, ***)',
    );
    expect(secretScrubber('redis://cache:6379')('nothing to hide')).toBe('nothing to hide');
  });

  it('a scrubber for a multi-host URL removes both the servers\' and the sentinels\' passwords, encoded or not', () => {
    const url = 'redis+sentinel://app:p%40ss@s1:26379,s2:26379/mymaster?sentinelPassword=w%2Fatch';
    const scrub = secretScrubber(url);
    expect(scrub(`open ${url}: WRONGPASS p@ss / w/atch / w%2Fatch`)).toBe(
      'open redis+sentinel://app:***@s1:26379,s2:26379/mymaster?sentinelPassword=***: WRONGPASS *** / *** / ***',
    );
  });
});
