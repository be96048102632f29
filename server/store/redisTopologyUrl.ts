import { redactedUrlShows, redactUrl } from './redactUrl.js';
import { parseReplicaWait, REPLICA_WAIT_PARAMS, type ReplicaWait } from './replicaWait.js';
import { AMBIGUOUS_USER_INFO, hasAmbiguousUserInfo } from './storeUrlSecrets.js';

/** One Redis server or sentinel a topology URL names. */
export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

interface RedisTopologyBase {
  /** `rediss+…`: TLS to every node (and, for Sentinel, to the sentinels). */
  readonly tls: boolean;
  /** Seeds: for Cluster any nodes (the client discovers the rest), for Sentinel the sentinels. */
  readonly nodes: readonly RedisNodeAddress[];
  /** The Redis servers' ACL user and password (the URL's user info). */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** `?waitReplicas=all|<n>[&waitTimeout=<duration>]`: durable writes wait for the replicas (`ReplicaWaitLanes`). */
  readonly wait: ReplicaWait | undefined;
}

export interface RedisClusterUrl extends RedisTopologyBase {
  readonly kind: 'cluster';
}

export interface RedisSentinelUrl extends RedisTopologyBase {
  readonly kind: 'sentinel';
  /** The name the sentinels monitor the master under (`sentinel monitor <name> …`). */
  readonly masterName: string;
  /** The sentinels' own credentials (`?sentinelUsername=…&sentinelPassword=…`), when they differ from the servers'. */
  readonly sentinelUsername: string | undefined;
  readonly sentinelPassword: string | undefined;
}

export type RedisTopologyUrl = RedisClusterUrl | RedisSentinelUrl;

/** The schemes of the multi-host Redis forms. */
export const REDIS_TOPOLOGY_SCHEMES = ['redis+cluster:', 'rediss+cluster:', 'redis+sentinel:', 'rediss+sentinel:'] as const;

const FORMS = {
  cluster: 'redis+cluster://[user:password@]host:port[,host:port…] (rediss+cluster:// for TLS)',
  sentinel: 'redis+sentinel://[user:password@]host:26379[,host:26379…]/<master name> (rediss+sentinel:// for TLS)',
} as const;

const DEFAULT_PORT = { cluster: 6379, sentinel: 26379 } as const;
const SENTINEL_PARAMS = ['sentinelUsername', 'sentinelPassword', ...REPLICA_WAIT_PARAMS];

/** A topology URL that cannot be used; the message says what is wrong and the form to write. */
export class RedisTopologyUrlError extends Error {
  override readonly name = 'RedisTopologyUrlError';
}

/** True when `url` uses one of the Cluster or Sentinel schemes (it may still be malformed). */
export const isRedisTopologyUrl = (url: string) => REDIS_TOPOLOGY_SCHEMES.some((scheme) => url.startsWith(scheme));

/**
 * Reads a Redis Cluster or Sentinel URL:
 *
 *   redis+cluster://[user:password@]host:port[,host:port…][?waitReplicas=all|<n>&waitTimeout=<duration>]
 *   redis+sentinel://[user:password@]host:26379[,host:26379…]/<master name>[?sentinelPassword=…&waitReplicas=…]
 *
 * (`rediss+…` for TLS). Ports default to 6379 (Cluster) and 26379
 * (sentinels). User and password are percent-decoded; the user info runs
 * to the last "@", and must not hold an unencoded "/", "?" or "#". Throws a
 * `RedisTopologyUrlError` that shows the URL with its password redacted,
 * and quotes a host or parameter only when that redacted URL shows it.
 *
 * @example parseRedisTopologyUrl('redis+sentinel://s1:26379,s2:26379/mymaster').masterName // 'mymaster'
 */
export function parseRedisTopologyUrl(url: string): RedisTopologyUrl {
  // User info to the last "@" (greedy), as redactUrl reads it: a password's "@" never starts the host list.
  const match = /^(rediss?)\+(cluster|sentinel):\/\/(?:(.*)@)?([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/s.exec(url);
  const kind = match?.[2] as 'cluster' | 'sentinel' | undefined;
  const fail = (problem: string): never => {
    const form = kind ? FORMS[kind] : `${FORMS.cluster} or ${FORMS.sentinel}`;
    throw new RedisTopologyUrlError(`${problem} (got "${redactUrl(url)}"); write ${form}`);
  };
  if (hasAmbiguousUserInfo(url)) return fail(AMBIGUOUS_USER_INFO);
  if (!match || !kind) return fail('is not a Redis Cluster or Sentinel URL');
  const [, scheme, , userinfo, hostList = '', path = '', query = ''] = match;
  /** ` "piece"`, or nothing when the redacted URL hides it (it may be a piece of a password). */
  const quoted = (piece: string, before = ' ') => (redactedUrlShows(url, piece) ? `${before}"${piece}"` : '');
  const nodes = parseHosts(hostList, DEFAULT_PORT[kind], quoted, fail);
  const { username, password } = parseUserinfo(userinfo, fail);
  const params = new URLSearchParams(query.slice(1));
  const wait = parseReplicaWait(params, fail);
  const base = { tls: scheme === 'rediss', nodes, username, password, wait };

  if (kind === 'cluster') {
    if (path !== '' && path !== '/') fail('has a path, but a Redis Cluster has a single database 0 and no master name');
    for (const [name] of params) {
      if (!(REPLICA_WAIT_PARAMS as readonly string[]).includes(name)) fail(`has an unknown parameter${quoted(name)} (known: ${REPLICA_WAIT_PARAMS.join(', ')})`);
    }
    return { kind, ...base };
  }

  const masterName = decode(path.slice(1), 'the master name', fail);
  if (!/^[^\s/]+$/.test(masterName)) fail('needs the name the sentinels monitor the master under as its path, e.g. /mymaster');
  for (const [name] of params) {
    if (!SENTINEL_PARAMS.includes(name)) fail(`has an unknown parameter${quoted(name)} (known: ${SENTINEL_PARAMS.join(', ')})`);
  }
  return {
    kind,
    ...base,
    masterName,
    sentinelUsername: params.get('sentinelUsername') ?? undefined,
    sentinelPassword: params.get('sentinelPassword') ?? undefined,
  };
}

function parseHosts(list: string, defaultPort: number, quoted: (piece: string, before: string) => string, fail: (problem: string) => never): RedisNodeAddress[] {
  if (list === '') fail('names no host');
  return list.split(',').map((entry) => {
    // `[::1]:7000`, `[::1]`, `host:7000`, `host`
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(entry);
    const host = match?.[1] ?? match?.[2];
    const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
    if (!host || port < 1 || port > 65535) fail(`has a host that is not host:port${quoted(entry, ': ')}`);
    return { host: host!, port };
  });
}

function parseUserinfo(userinfo: string | undefined, fail: (problem: string) => never): { username: string | undefined; password: string | undefined } {
  if (userinfo === undefined) return { username: undefined, password: undefined };
  const colon = userinfo.indexOf(':');
  const user = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), 'the user name', fail);
  const password = colon === -1 ? undefined : decode(userinfo.slice(colon + 1), 'the password', fail);
  // `redis+cluster://:secret@…`: the password alone, for the `default` user (as with redis://).
  return { username: user === '' ? undefined : user, password };
}

function decode(text: string, what: string, fail: (problem: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(`has ${what} with a broken percent-encoding`);
  }
}
