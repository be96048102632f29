import { redactUrl } from './redactUrl.js';
import { isRedisTopologyUrl, parseRedisTopologyUrl, REDIS_TOPOLOGY_SCHEMES, RedisTopologyUrlError } from './redisTopologyUrl.js';
import { plainRedisReplicaWait } from './replicaWait.js';
import { AMBIGUOUS_USER_INFO, hasAmbiguousUserInfo, userInfoOf } from './storeUrlSecrets.js';

/** Every scheme `SESSION_STORE_URL` (and `createGatehouse`'s `store`) accepts. */
export const STORE_SCHEMES = ['memory:', 'sqlite:', 'redis:', 'rediss:', ...REDIS_TOPOLOGY_SCHEMES, 'postgres:', 'postgresql:'] as const;

/**
 * What is wrong with a store URL, as the rest of a sentence that starts with
 * the setting's name (`SESSION_STORE_URL …`, `options.store …`), or
 * `undefined` when it is usable. Never quotes a password: a URL is shown
 * only through `redactUrl`, and text that is not `scheme://…` not at all.
 *
 * @example storeUrlProblem('redis+sentinel://s1:26379') // 'needs the name the sentinels monitor … (got "…"); write redis+sentinel://…'
 */
export function storeUrlProblem(url: string): string | undefined {
  const scheme = STORE_SCHEMES.find((known) => url.startsWith(`${known}//`));
  if (!scheme) return `must start with one of ${STORE_SCHEMES.map((known) => `${known}//`).join(', ')}`;
  const userInfo = userInfoOf(url);
  if (scheme === 'sqlite:') {
    // `sqlite://app:s3cret@data/x.sqlite` would create a directory named after the password.
    return userInfo?.includes(':') ? `takes a file path, not a user name and password (got "${redactUrl(url)}"); write sqlite://<path>` : undefined;
  }
  if (scheme !== 'memory:' && hasAmbiguousUserInfo(url)) return `${AMBIGUOUS_USER_INFO} (got "${redactUrl(url)}")`;
  if (scheme === 'redis:' || scheme === 'rediss:') {
    const wait = plainRedisReplicaWait(url);
    return 'problem' in wait ? `${wait.problem} (got "${redactUrl(url)}")` : undefined;
  }
  if (!isRedisTopologyUrl(url)) return undefined;
  try {
    parseRedisTopologyUrl(url);
    return undefined;
  } catch (error) {
    if (error instanceof RedisTopologyUrlError) return error.message;
    throw error;
  }
}
