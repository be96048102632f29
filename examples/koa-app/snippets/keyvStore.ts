// README, "Any other backend: Keyv adapters": a Keyv storage adapter as the store (one instance only).
import KeyvMysql from '@keyv/mysql';
import { createGatehouse, keyvStore } from 'koa-gatehouse';

const store = await keyvStore(new KeyvMysql({ uri: process.env['MYSQL_URL'] ?? 'mysql://app@db:3306/app', table: 'gatehouse' }), {
  timeoutMs: 1_000, // the deadline of every operation: past it, the request is a 503
  namespace: 'gatehouse', // Keyv's namespace
});
export const gatehouse = await createGatehouse({ keys: [process.env['SESSION_KEY'] ?? ''], store });
