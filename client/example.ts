/**
 * `npm run example`: a command-line client as a team writes one, on a bearer
 * session (a CLI has no cookie jar worth keeping) with "stay signed in":
 *
 *   npm run example             signs in (the first time with the password), then reads `data`
 *   npm run example -- logout   logs out: the session and the device credential end on the server
 *                               and leave the token file
 *
 * The tokens live in GATEHOUSE_TOKEN_FILE (default
 * `$XDG_CONFIG_HOME/gatehouse-example/tokens.json`, `~/.config/…` without it),
 * a file only its user can read (`fileTokenStore`: mode 0600, written
 * atomically). The second run reuses the saved session without a password;
 * once the session has timed out, the "stay signed in" credential starts a new
 * one, still without a password. A token is never printed.
 *
 * Against GATEHOUSE_URL (default http://127.0.0.1:3000), a server with bearer
 * sessions and "stay signed in" on (`createGatehouse({ bearer: true,
 * staySignedIn: true })`). It signs in as EXAMPLE_USER (default `example-user`,
 * registered on first use) with a fixed demo password; a real CLI asks for it.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AppRouter } from '../server/reference/router.js';
import { createBearerClient, fileTokenStore, memoryTokenStore, TokenFileError, TRPCClientError } from './node.js';

const url = process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:3000';
const file = process.env.GATEHOUSE_TOKEN_FILE || join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'gatehouse-example', 'tokens.json');
const credentials = { username: process.env.EXAMPLE_USER ?? 'example-user', password: 'example password 123' };
// Shown in the user's session list ("gatehouse-example 0.2" rather than "node").
const withUserAgent: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), 'user-agent': 'gatehouse-example/0.2' } });
const tokens = fileTokenStore(file);
const { api } = createBearerClient<AppRouter>({ url, tokens, fetch: withUserAgent });

const status = (error: unknown) => (error instanceof TRPCClientError ? (error.data as { httpStatus?: number } | undefined)?.httpStatus : undefined);

/** Registers (or, when the name is taken, logs in) with the password, asking to stay signed in on this device. */
async function signInWithPassword(): Promise<void> {
  const signIn = async (staySignedIn: boolean) => {
    try {
      await api.auth.register.mutate({ ...credentials, staySignedIn });
      return 'registered';
    } catch (error) {
      if (!(error instanceof TRPCClientError) || error.data?.code !== 'CONFLICT') throw error;
      await api.auth.login.mutate({ ...credentials, staySignedIn });
      return 'signed in as';
    }
  };
  let staying = true;
  let done: string;
  try {
    done = await signIn(true);
  } catch (error) {
    // A server that does not offer "stay signed in" answers 400 naming the option: sign in for this session only.
    if (status(error) !== 400) throw error;
    staying = false;
    done = await signIn(false);
  }
  if ((await tokens.get('session')) === undefined) {
    throw new Error(`${url} signed in with a cookie, not a bearer token: turn bearer sessions on in the server (createGatehouse({ bearer: true }))`);
  }
  console.log(`${done} ${credentials.username}${staying ? ', staying signed in on this device' : ' (this server does not offer staying signed in)'}`);
  console.log(`saved the session to ${file} (mode 0600)`);
}

/** Reads `data`, signing in first when no saved session answers. */
async function readData(): Promise<void> {
  const saved = await tokens.get('session');
  const remembered = await tokens.get('remember');
  let data: Awaited<ReturnType<typeof api.data.query>> | undefined;
  if (saved === undefined && remembered === undefined) {
    console.log(`no saved session in ${file}: signing in with the password`);
  } else {
    try {
      data = await api.data.query();
      // A new token handed over by the answer: the session had timed out and the device credential started another.
      const resumed = (await tokens.get('session')) !== saved;
      console.log(resumed ? `the saved session had ended: resumed with the "stay signed in" credential in ${file} (no password)` : `using the saved session in ${file} (no password)`);
    } catch (error) {
      if (status(error) !== 401) throw error;
      // The client already forgot the refused token (and device credential); sign in afresh.
      console.log(`the saved session in ${file} has ended: signing in with the password`);
    }
  }
  if (!data) {
    await signInWithPassword();
    data = await api.data.query();
  }
  console.log(`data: ${data.message}`);
}

/** Logs out: the server ends the session and this device's "stay signed in" credential; the client forgets both. */
async function logout(): Promise<void> {
  const before = { session: await tokens.get('session'), remember: await tokens.get('remember') };
  if (before.session === undefined && before.remember === undefined) {
    console.log(`not signed in: no saved session in ${file}`);
    return;
  }
  await api.auth.logout.mutate();
  const left = [await tokens.get('session'), await tokens.get('remember')].filter((token) => token !== undefined).length;
  if (left > 0) throw new Error(`logged out, but ${file} still holds ${left} token(s): that is a bug`);
  console.log(`logged out: the session and the "stay signed in" credential are ended and removed from ${file}`);
  // The tokens this device held are dead on the server too: the old ones, replayed, get 401.
  const replay = createBearerClient<AppRouter>({ url, tokens: memoryTokenStore(Object.fromEntries(Object.entries(before).filter(([, token]) => token !== undefined))) });
  const answer = await replay.api.data.query().then(
    () => 'answered',
    (error: unknown) => status(error),
  );
  if (answer !== 401) throw new Error(`data with the old tokens: ${String(answer)} after logout, where 401 was expected: that is a bug`);
  console.log('data with the old tokens: 401 UNAUTHORIZED, as it should be');
}

const command = process.argv[2] ?? 'data';
if (command !== 'data' && command !== 'logout') {
  console.error(`unknown command "${command}". Usage: npm run example [-- data | logout]`);
  process.exit(2);
}
try {
  await (command === 'logout' ? logout() : readData());
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof TokenFileError) console.error(`example: ${reason}`);
  else console.error(`example failed against ${url}: ${reason}\nIs the server running, with bearer sessions on? Start it with: npm start`);
  process.exit(1);
}
