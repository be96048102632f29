import type { PrivateRedis } from './privateRedis.js';
import { rawRedis } from './rawRedis.js';

/** `INFO <section>` as a map of its `field:value` lines. */
export async function info(redis: Pick<PrivateRedis, 'url'>, section: string): Promise<Map<string, string>> {
  const client = await rawRedis(redis.url);
  try {
    const text = (await client.command(['INFO', section])) as string;
    return new Map(
      text
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
    );
  } finally {
    await client.close();
  }
}

/** Bounded polling for a condition (never a fixed sleep): 50 ms apart, up to `rounds` tries. */
export async function eventually(check: () => Promise<boolean>, what: string, rounds = 400): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never happened: ${what}`);
}

/** Waits until a replica has a live link to its master and has finished its first sync. */
export async function untilReplicaLinked(replica: Pick<PrivateRedis, 'url'>): Promise<void> {
  await eventually(async () => {
    const replication = await info(replica, 'replication');
    return replication.get('master_link_status') === 'up' && replication.get('master_sync_in_progress') === '0';
  }, 'the replica linked to its master');
}

/**
 * "Everything acknowledged so far is on the replicas": pauses the master's
 * writes (`CLIENT PAUSE … WRITE`: new writes wait, reads go on), then polls
 * until every replica has acknowledged the master's replication offset. What
 * `WAIT` gives one connection's own writes, for every client's: a test that
 * kills the master right after this has lost no acknowledged write. Writes
 * sent during the pause wait, unacknowledged, and die with the master.
 */
export async function pauseWritesUntilReplicated(master: Pick<PrivateRedis, 'url'>, pauseMs = 10_000): Promise<void> {
  const client = await rawRedis(master.url);
  try {
    await client.command(['CLIENT', 'PAUSE', String(pauseMs), 'WRITE']);
  } finally {
    await client.close();
  }
  await eventually(async () => {
    const replication = await info(master, 'replication');
    const offset = Number(replication.get('master_repl_offset'));
    const replicas = [...replication.entries()].filter(([field]) => /^slave\d+$/.test(field)).map(([, value]) => value);
    // slave0:ip=127.0.0.1,port=…,state=online,offset=1234,lag=0
    return replicas.length > 0 && replicas.every((line) => line.includes('state=online') && Number(/offset=(\d+)/.exec(line)?.[1]) >= offset);
  }, 'every replica acknowledged the master’s offset');
}

/** Ends a `CLIENT PAUSE` early (a frozen master that was thawed before its replica took over). */
export async function unpause(redis: Pick<PrivateRedis, 'url'>): Promise<void> {
  const client = await rawRedis(redis.url);
  try {
    await client.command(['CLIENT', 'UNPAUSE']);
  } finally {
    await client.close();
  }
}
