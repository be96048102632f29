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
});
