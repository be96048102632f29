// Starts the compiled shop with plain node (no tsx) and calls it over HTTP.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const child = spawn(process.execPath, ['dist/src/server.js'], {
  env: { ...process.env, SESSION_KEYS: 'smoke-key-0123456789-abcdefghijklmnopqrstuvwxyz', COOKIE_SECURE: 'false', PORT: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const fail = (message) => {
  console.error(`smoke: ${message}`);
  child.kill('SIGKILL');
  process.exit(1);
};
const timer = setTimeout(() => fail('the server did not start within 20 s'), 20_000);
const url = await new Promise((resolve) => {
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const entry = JSON.parse(line);
      if (entry.event === 'shop.listening') resolve(entry.url);
    } catch {
      // not ours
    }
  });
});
clearTimeout(timer);

const post = (path, body, cookie) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) });
const registered = await post('/api/trpc/auth.register', { username: 'smoke@example.com', password: 'a smoke password 1' });
if (registered.status !== 200) fail(`register answered ${registered.status}: ${await registered.text()}`);
const cookie = registered.headers.getSetCookie()[0]?.split(';')[0];
if (!cookie?.startsWith('sid=')) fail('register set no session cookie');
const added = await post('/api/trpc/cart.add', { sku: 'mug', quantity: 1 }, cookie);
if (added.status !== 200) fail(`cart.add answered ${added.status}`);
const account = await (await fetch(`${url}/account`, { headers: { cookie } })).json();
if (account.signedIn !== true || account.cartLines !== 1) fail(`/account answered ${JSON.stringify(account)}`);
const anonymous = await fetch(`${url}/api/trpc/cart.get`);
if (anonymous.status !== 401) fail(`cart.get without a session answered ${anonymous.status}`);
console.log(`smoke: ok against ${url} (register 200, cart.add 200, /account signed in, anonymous 401)`);
child.kill('SIGTERM');
