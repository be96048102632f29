import { describe, expect, it } from 'vitest';
import { redactUrl } from '../server/store/redactUrl.js';
import { secretScrubber } from '../server/store/secretScrubber.js';

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

  // Issue 18 §4: the password runs to the last "@" whatever it holds; a secret parameter's value to the end of the URL.
  it.each([
    ['postgres://app:pa/ss@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['postgres://app:pa?ss@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['postgres://app:pa#ss@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['redis+cluster://app:long/piece@10.0.0.1:7000,10.0.0.2:7001', 'redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7001'],
    ['redis://cache:6379?token=t0k3n', 'redis://cache:6379?token=***'],
    ['postgres://app@db/app?auth=s3cret&sslmode=require', 'postgres://app@db/app?auth=***'],
    ['postgres://app@db/app?sslmode=require&access_token=t0k3n', 'postgres://app@db/app?sslmode=require&access_token=***'],
    ['postgres://app@db/app?sslpassword=s3cret', 'postgres://app@db/app?sslpassword=***'],
    ['redis+sentinel://s1/mymaster?sentinelPassword=ab#cd', 'redis+sentinel://s1/mymaster?sentinelPassword=***'],
    ['redis+sentinel://app:pw@s1/mymaster?sentinelPassword=a@b', 'redis+sentinel://app:***'],
    ['redis://app:x?token=y@cache', 'redis://app:***'],
  ])('a password or secret parameter holding what ends a URL part: %s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it.each([
    ['redis:app:s3cret@cache:6379', 'redis:***'],
    ['app:s3cret@cache:6379', 'app:***'],
    ['s3cret@cache', '***'],
    ['', ''],
  ])('text that is not scheme://… shows only its scheme: %s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('a scrubber removes the password from any text, encoded or not, and the whole URL', () => {
    const scrub = secretScrubber('postgres://app:p%40ss@db:5432/app');
    expect(scrub('connect to postgres://app:p%40ss@db:5432/app failed (password p@ss, p%40ss)')).toBe(
      'connect to postgres://app:***@db:5432/app failed (password ***, ***)',
    );
    expect(secretScrubber('redis://cache:6379')('nothing to hide')).toBe('nothing to hide');
  });

  it('a scrubber removes a password holding "/", "?", "#" or "@" whole, and a secret parameter up to the "&" a driver stops at', () => {
    const scrub = secretScrubber('postgres://app:pa/ss?w#rd@ok@db/app?password=one&two');
    expect(scrub('auth failed for pa/ss?w#rd@ok; param one; decoded pa/ss?w#rd@ok')).toBe('auth failed for ***; param ***; decoded ***');
  });

  it('a scrubber for text that is not a URL removes all of it, encoded too', () => {
    expect(secretScrubber('p@ss:w/rd')('got p@ss:w/rd, p%40ss%3Aw%2Frd')).toBe('got ***, ***');
  });

  it('a scrubber for a multi-host URL removes both the servers\' and the sentinels\' passwords, encoded or not', () => {
    const url = 'redis+sentinel://app:p%40ss@s1:26379,s2:26379/mymaster?sentinelPassword=w%2Fatch';
    const scrub = secretScrubber(url);
    expect(scrub(`open ${url}: WRONGPASS p@ss / w/atch / w%2Fatch`)).toBe(
      'open redis+sentinel://app:***@s1:26379,s2:26379/mymaster?sentinelPassword=***: WRONGPASS *** / *** / ***',
    );
  });
});
