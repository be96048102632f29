import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, sessionCookie } from './helpers/http.js';
import { run } from './helpers/run.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';

/**
 * `npm run example` (client/example.ts) is a CLI on a bearer session kept by
 * fileTokenStore: run as a process, as a user runs it, against the reference
 * server running as a process with bearer sessions and "stay signed in" on.
 */
const DATA = 'data: Hello, cli-user. This answer needed a live session.';
const TOKEN_SHAPE = /[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/;

let server: ServerProcess;
let dir: string;
let file: string;
/** Every token the file ever held: none may appear in any output. */
const seenTokens = new Set<string>();
const outputs: string[] = [];

beforeAll(async () => {
  // The reference server as `npm start` runs it: bearer sessions and "stay signed in" are on by default.
  server = await startServerProcess({ SESSION_STORE_URL: 'memory://' }, 30_000);
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  file = join(dir, 'config', 'tokens.json');
}, 40_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function example(...args: string[]) {
  const result = await run(process.execPath, ['--import', 'tsx', 'client/example.ts', ...args], {
    env: { GATEHOUSE_URL: server.url, GATEHOUSE_TOKEN_FILE: file, EXAMPLE_USER: 'cli-user' },
    timeoutMs: 25_000, // under the test's own 30 s, so a hung CLI is killed with its test
  });
  outputs.push(result.stdout, result.stderr);
  return { code: result.code, lines: result.stdout.trimEnd().split('\n'), stderr: result.stderr };
}

function saved(): Record<string, string> {
  const tokens = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  for (const token of Object.values(tokens)) seenTokens.add(token);
  return tokens;
}
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'gatehouse-session': 'bearer' });

describe('npm run example, run as a process again and again', () => {
  let first: Record<string, string>;

  it('the first run signs in with the password, staying signed in, saves the tokens 0600 and reads data', async () => {
    const { code, lines, stderr } = await example();
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines).toEqual([
      `no saved session in ${file}: signing in with the password`,
      'registered cli-user, staying signed in on this device',
      `saved the session to ${file} (mode 0600)`,
      DATA,
    ]);
    expect([modeOf(file), modeOf(join(dir, 'config'))]).toEqual(['600', '700']);
    first = saved();
    expect(Object.keys(first).sort()).toEqual(['remember', 'session']);
    // The saved token is a live bearer session, listed as the CLI.
    const list = await request(`${server.url}/trpc/sessions.list`, { headers: bearer(first.session!) });
    const sessions = (list.json as { result: { data: { carrier: string; device: string; current: boolean }[] } }).result.data;
    expect(sessions.find((session) => session.current)).toMatchObject({ carrier: 'bearer', device: 'gatehouse-example' });
  });

  it('the second run reuses the saved session without a password, and says so', async () => {
    const { code, lines, stderr } = await example();
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines).toEqual([`using the saved session in ${file} (no password)`, DATA]);
    expect(saved()).toEqual(first);
  });

  it('when the saved session has ended (revoked from a browser), the "stay signed in" credential starts a new one without a password', async () => {
    const browser = sessionCookie(await request(`${server.url}/trpc/auth.login`, { body: { username: 'cli-user', password: 'example password 123' } }));
    const listed = ((await request(`${server.url}/trpc/sessions.list`, { cookie: browser })).json as { result: { data: { id: string; carrier: string; kind: string }[] } }).result.data;
    const cli = listed.find((session) => session.carrier === 'bearer' && session.kind === 'session')!;
    expect((await request(`${server.url}/trpc/sessions.revoke`, { cookie: browser, body: { id: cli.id } })).status).toBe(200);
    expect((await request(`${server.url}/trpc/data`, { headers: bearer(first.session!) })).status).toBe(401);

    const { code, lines, stderr } = await example();
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines).toEqual([`the saved session had ended: resumed with the "stay signed in" credential in ${file} (no password)`, DATA]);
    const resumed = saved();
    // A new session, and the device credential rotated on use.
    expect(Object.keys(resumed).sort()).toEqual(['remember', 'session']);
    expect([resumed.session === first.session, resumed.remember === first.remember]).toEqual([false, false]);
    expect(modeOf(file)).toBe('600');
    first = resumed;
  });

  it('logout ends the session and the device credential on the server and removes them from the file; the old tokens then get 401', async () => {
    const { code, lines, stderr } = await example('logout');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines).toEqual([
      `logged out: the session and the "stay signed in" credential are ended and removed from ${file}`,
      'data with the old tokens: 401 UNAUTHORIZED, as it should be',
    ]);
    expect(existsSync(file)).toBe(false);
    const replayed = await request(`${server.url}/trpc/data`, { headers: bearer(first.session!) });
    expect([replayed.status, replayed.headers.get('www-authenticate')]).toEqual([401, 'Bearer error="invalid_token"']);
    const remembered = await request(`${server.url}/trpc/data`, { headers: { 'gatehouse-session': 'bearer', 'gatehouse-remember': first.remember! } });
    expect(remembered.status).toBe(401);
  });

  it('logout again: not signed in, nothing to do', async () => {
    const { code, lines } = await example('logout');
    expect(code).toBe(0);
    expect(lines).toEqual([`not signed in: no saved session in ${file}`]);
  });

  it('a token file that is not one (corrupt, or another program’s): refused with the fix, exit 1, the file left as it was', async () => {
    writeFileSync(file, '{"session":"half a wr', { mode: 0o600 });
    const { code, lines, stderr } = await example();
    expect(code).toBe(1);
    expect(lines).toEqual(['']);
    expect(stderr).toBe(`example: ${file} is not a token file (not JSON); it was left as it is. Delete it and sign in again, or point the client at another file.\n`);
    expect(readFileSync(file, 'utf8')).toBe('{"session":"half a wr');
    rmSync(file);
  });

  it('an unknown command: the usage, exit 2', async () => {
    const { code, stderr } = await example('bogus');
    expect([code, stderr]).toEqual([2, 'unknown command "bogus". Usage: npm run example [-- data | logout]\n']);
  });

  it('no run printed a token', () => {
    expect(seenTokens.size).toBeGreaterThanOrEqual(4);
    const printed = outputs.join('\n');
    for (const token of seenTokens) expect(printed).not.toContain(token);
    expect(printed).not.toMatch(TOKEN_SHAPE);
  });
});

describe('npm run example against a server without bearer sessions', () => {
  let cookieOnly: ServerProcess;
  beforeAll(async () => {
    cookieOnly = await startServerProcess({ SESSION_STORE_URL: 'memory://', SESSION_BEARER: '0', SESSION_STAY_SIGNED_IN: '0' }, 30_000);
  }, 40_000);
  afterAll(() => cookieOnly?.stop());

  it('fails with a message naming the option, saves nothing', async () => {
    const tokenFile = join(dir, 'cookie-only', 'tokens.json');
    const result = await run(process.execPath, ['--import', 'tsx', 'client/example.ts'], {
      env: { GATEHOUSE_URL: cookieOnly.url, GATEHOUSE_TOKEN_FILE: tokenFile, EXAMPLE_USER: 'cli-user' },
      timeoutMs: 25_000, // under the test's own 30 s, so a hung CLI is killed with its test
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(`no saved session in ${tokenFile}: signing in with the password\n`);
    expect(result.stderr).toBe(
      `example failed against ${cookieOnly.url}: ${cookieOnly.url} signed in with a cookie, not a bearer token: turn bearer sessions on in the server (createGatehouse({ bearer: true }))\nIs the server running, with bearer sessions on? Start it with: npm start\n`,
    );
    expect(existsSync(tokenFile)).toBe(false);
  });
});
