/* global console, process, fetch -- plain node, as a consumer runs it */
// A team on Gatehouse's built-in accounts (no AccountsAdapter of its own): register, sign in and read the
// session over HTTP, and the stored password is an argon2id hash. Plain node on the installed package.
import { once } from 'node:events';
import Koa from 'koa';
import { createGatehouse, createLogger, gatehouseRoutes, router } from 'koa-gatehouse';

const fail = (message) => {
  console.error(`built-in accounts: ${message}`);
  process.exit(1);
};
const gatehouse = await createGatehouse({ keys: ['builtin-consumer-key-0123456789-abcdefghij'], cookie: { secure: false }, logger: createLogger('silent') });
const app = new Koa();
app.use(gatehouse.session());
app.use(gatehouse.trpc({ router: router(gatehouseRoutes) }));
const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${server.address().port}`;
const post = (path, body, cookie) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) });
try {
  const credentials = { username: 'builtin-user', password: 'a built-in password 1' };
  const registered = await post('/trpc/auth.register', credentials);
  if (registered.status !== 200) fail(`register answered ${registered.status}: ${await registered.text()}`);
  const wrong = await post('/trpc/auth.login', { ...credentials, password: 'not the password' });
  if (wrong.status !== 401) fail(`a wrong password answered ${wrong.status}`);
  const login = await post('/trpc/auth.login', credentials);
  const cookie = login.headers.getSetCookie()[0]?.split(';')[0];
  if (login.status !== 200 || !cookie?.startsWith('sid=')) fail(`login answered ${login.status} without a session cookie`);
  const me = await (await fetch(`${url}/trpc/auth.me`, { headers: { cookie } })).json();
  if (me.result?.data?.user?.username !== 'builtin-user') fail(`auth.me answered ${JSON.stringify(me)}`);
  const record = await gatehouse.services.accounts.directory.findByUsername('builtin-user');
  if (!record?.passwordHash.startsWith('$argon2id$')) fail('the stored password is not an argon2id hash');
  console.log(`built-in accounts: ok against ${url} (register 200, wrong password 401, login 200, auth.me signed in, argon2id hash stored)`);
} finally {
  server.close();
  await gatehouse.close();
}
