// README, "Redis Cluster and Sentinel": a node-redis client of your own, for options the URLs do not cover.
import { createCluster } from 'redis';
import { createGatehouse, redisNodeOptions, redisStoreFor } from 'koa-gatehouse';

const timeoutMs = 1_000; // the deadline of every store operation
const client = createCluster({ rootNodes: [{ url: 'redis://node-1:6379' }], defaults: redisNodeOptions(timeoutMs) });
// Sentinel: the master connection must not retry by itself (node-redis asks the sentinels again instead).
// const node = redisNodeOptions(timeoutMs);
// const client = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: 's1', port: 26379 }],
//   nodeClientOptions: { ...node, socket: { ...node.socket, reconnectStrategy: false } } });
const store = await redisStoreFor(client, { timeoutMs, namespace: 'gatehouse' });
export const gatehouse = await createGatehouse({ keys: [process.env['SESSION_KEY'] ?? ''], store });
