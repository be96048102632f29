import { isRedisTopologyUrl, parseRedisTopologyUrl, REDIS_TOPOLOGY_SCHEMES, RedisTopologyUrlError } from './redisTopologyUrl.js';

/** Every scheme `SESSION_STORE_URL` (and `createGatehouse`'s `store`) accepts. */
export const STORE_SCHEMES = ['memory:', 'sqlite:', 'redis:', 'rediss:', ...REDIS_TOPOLOGY_SCHEMES, 'postgres:', 'postgresql:'] as const;

/**
 * What is wrong with a store URL, as the rest of a sentence that starts with
 * the setting's name (`SESSION_STORE_URL …`, `options.store …`), or
 * `undefined` when it is usable. Never quotes a password.
 *
 * @example storeUrlProblem('redis+sentinel://s1:26379') // 'needs the name the sentinels monitor … (got "…"); write redis+sentinel://…'
 */
export function storeUrlProblem(url: string): string | undefined {
  if (!STORE_SCHEMES.some((scheme) => url.startsWith(scheme))) {
    return `must start with one of ${STORE_SCHEMES.map((scheme) => `${scheme}//`).join(', ')}`;
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
