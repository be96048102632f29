/**
 * `npx tsx bench/lockout.ts [--seconds=120]`: the owner-lockout attack of issue 18, in real time over real
 * HTTP. The reference server (SQLite, the real argon2id cost, behind a trusted proxy so addresses come from
 * X-Forwarded-For) holds one account. From one address, 5 workers send a wrong password every 100 ms; the
 * owner, from another address and a browser that signed in once before (it keeps every cookie it was given),
 * sends the right password once a second. Prints how many of the owner's tries got in, and how the
 * attacker's answers split. Uses only the public HTTP API, so it runs against any version.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../server/index.js';
import { createReferenceApp } from '../server/reference/app.js';

const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 120);
const PASSWORD = 'the owner’s password';
const ATTACKER = '203.0.113.7';
const OWNER = '198.51.100.9';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lockout-'));
const config = loadConfig({
  NODE_ENV: 'development',
  TRUST_PROXY: '1',
  SESSION_STORE_URL: `sqlite://${join(dir, 'lockout.sqlite')}`,
  SESSION_KEYS: 'lockout-key-0123456789-abcdefghijklmnopqrstuvwxyz',
  LOG_LEVEL: 'silent',
});
const { app, gatehouse } = await createReferenceApp(config);
const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;

/** The cookies a browser keeps from an answer (name=value pairs with a value). */
function keep(jar: Map<string, string>, res: Response): void {
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(';')[0]!;
    const eq = pair.indexOf('=');
    if (pair.slice(eq + 1) === '') jar.delete(pair.slice(0, eq));
    else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
}
const cookieHeader = (jar: Map<string, string>) => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');

async function login(password: string, from: string, jar?: Map<string, string>): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-forwarded-for': from };
  if (jar && jar.size > 0) headers.cookie = cookieHeader(jar);
  const res = await fetch(`${url}/auth.login`, { method: 'POST', headers, body: JSON.stringify({ username: 'owner', password }) });
  await res.arrayBuffer();
  if (jar && res.status === 200) keep(jar, res);
  return res.status;
}

const ownerJar = new Map<string, string>();
const registered = await fetch(`${url}/auth.register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-forwarded-for': OWNER },
  body: JSON.stringify({ username: 'owner', password: PASSWORD }),
});
keep(ownerJar, registered);
// The owner's browser has signed in before.
if ((await login(PASSWORD, OWNER, ownerJar)) !== 200) throw new Error('the owner could not sign in before the attack');

const until = Date.now() + seconds * 1000;
const attacker = new Map<number, number>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const workers = Array.from({ length: 5 }, async (_, worker) => {
  for (let i = 0; Date.now() < until; i += 1) {
    const status = await login(`wrong guess ${worker}-${i}`, ATTACKER);
    attacker.set(status, (attacker.get(status) ?? 0) + 1);
    await sleep(100);
  }
});
let tries = 0;
let gotIn = 0;
const owner = (async () => {
  while (Date.now() < until) {
    await sleep(1000);
    tries += 1;
    if ((await login(PASSWORD, OWNER, ownerJar)) === 200) gotIn += 1;
  }
})();
await Promise.all([...workers, owner]);

console.log(`owner got in ${gotIn} of ${tries} tries (${((100 * gotIn) / tries).toFixed(1)} %) during ${seconds} s of attack`);
console.log(`attacker's answers: ${[...attacker].sort().map(([status, n]) => `${status}: ${n}`).join(', ')}`);
server.closeAllConnections();
server.close();
await gatehouse.close();
rmSync(dir, { recursive: true, force: true });
