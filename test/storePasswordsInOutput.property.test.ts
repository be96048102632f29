import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, openStore, redactUrl, secretScrubber } from '../server/index.js';
import { resolveOptions } from '../server/options.js';
import { parseSqliteUrl } from '../server/store/openSqlite.js';
import { parseRedisTopologyUrl } from '../server/store/redisTopologyUrl.js';
import { missingDriverMessage, POSTGRES_DRIVER } from '../server/store/storeDriver.js';
import { storeUrlProblem } from '../server/store/storeUrl.js';
import { request } from './helpers/http.js';
import { leakedPieces } from './helpers/passwordPieces.js';
import { run } from './helpers/run.js';
import { startServerProcess } from './helpers/serverProcess.js';
import { TEST_KEY } from './helpers/server.js';
import { buildCase, type ShapeName, SHAPES, storePassword, storeUrlCase, type StoreHosts, type StoreUrlCase } from './helpers/storeUrlCases.js';

// Issue 18 §4 and D2: no piece of four or more characters of a store password reaches any output, however malformed its URL.
const IN_PROCESS_RUNS = 300;

const messageOf = (attempt: () => unknown): string => {
  try {
    attempt();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

const decodedOrAsIs = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

const expectNoPiece = (output: string, c: StoreUrlCase) => {
  expect(leakedPieces(output, c.passwords), `${c.shape}: ${c.url}\nprinted:\n${output}`).toEqual([]);
};

describe('in the process, for any store URL', () => {
  const hosts: StoreHosts = {
    redis: 'cache.internal:6379',
    clusterNodes: ['10.0.0.1:7000', '10.0.0.2:7001', '[::1]:7002'],
    sentinels: ['s1:26379', 's2:26379', 's3'],
    postgres: 'db.internal:5432',
    sqliteDir: '/var/lib/gatehouse',
  };
  const property = (check: (c: StoreUrlCase) => void | Promise<void>) =>
    fc.assert(
      fc.asyncProperty(storeUrlCase(hosts), async (c) => {
        await check(c);
      }),
      { numRuns: IN_PROCESS_RUNS },
    );

  it('redactUrl shows no piece of a password', () => property((c) => expectNoPiece(redactUrl(c.url), c)));

  it('the store URL checks (SESSION_STORE_URL, options.store, openStore) accept or refuse it without quoting a piece', () =>
    property(async (c) => {
      const problem = storeUrlProblem(c.url);
      const config = messageOf(() => loadConfig({ NODE_ENV: 'test', SESSION_KEYS: TEST_KEY, SESSION_STORE_URL: c.url }));
      const options = messageOf(() => resolveOptions({ keys: [TEST_KEY], store: c.url }));
      // A refused URL is refused before anything is opened, so openStore is safe to call here.
      const opened = problem === undefined ? '' : await openStore({ url: c.url, timeoutMs: 100 }).then(() => 'opened', (error: Error) => error.message);
      expect(opened).not.toBe('opened');
      expectNoPiece([problem, config, options, opened].join('\n'), c);
    }));

  it('the Cluster and Sentinel URL parser, the SQLite URL parser and the missing-driver message quote no piece', () =>
    property((c) => {
      const outputs = [messageOf(() => parseRedisTopologyUrl(c.url)), missingDriverMessage(POSTGRES_DRIVER, c.url)];
      if (c.url.startsWith('sqlite:')) outputs.push(messageOf(() => parseSqliteUrl(c.url)));
      expectNoPiece(outputs.join('\n'), c);
    }));

  it('secretScrubber removes the URL and every password from text that quotes them (as written, decoded and encoded)', () =>
    property((c) => {
      const text = [c.url, ...c.passwords.flatMap((p) => [p, decodedOrAsIs(p), encodeURIComponent(p)])].join(' | ');
      expectNoPiece(secretScrubber(c.url)(text), c);
    }));

  it('a generated password has 12 or more characters and often what breaks a URL: / ? # @ : % and spaces', () => {
    const samples = fc.sample(storePassword, 200);
    expect(samples.every((p) => [...p].length >= 12)).toBe(true);
    for (const char of '/?#@:% ') expect(samples.filter((p) => p.includes(char)).length).toBeGreaterThan(50);
  });
});

describe('the reference server and the users CLI, as processes', () => {
  const sqliteDir = mkdtempSync(join(tmpdir(), 'gh-pieces-'));
  afterAll(() => rmSync(sqliteDir, { recursive: true, force: true }));
  const postgres = process.env.DATABASE_URL ? new URL(process.env.DATABASE_URL).host : '127.0.0.1:6';
  // Addresses that refuse at once (the test PostgreSQL, when there is one, trusts any password).
  const hosts: StoreHosts = { redis: '127.0.0.1:1', clusterNodes: ['127.0.0.1:2', '127.0.0.1:3', '127.0.0.1:4'], sentinels: ['127.0.0.1:5', '127.0.0.1:7'], postgres, sqliteDir };
  const env = { NODE_ENV: 'development', SESSION_KEYS: TEST_KEY, SESSION_STORE_TIMEOUT: '300ms', SESSION_STORE_NAMESPACE: `gh_pieces_${process.pid}` };
  // Not the SQLite file with user info: code that does not refuse it creates its path, relative to the working directory.
  const everyShape = (Object.keys(SHAPES) as ShapeName[]).filter((shape) => shape !== 'sqlite with user info');
  // Few runs, each a process; a failure is reported as found, without shrinking (each step would start another).
  const processRuns = (numRuns: number, examples: StoreUrlCase[]) => ({ numRuns, examples: examples.map((c) => [c] as [StoreUrlCase]), endOnFailure: true });
  const example = (shape: ShapeName, password: string, encoded = false): StoreUrlCase => {
    // As storePassword makes them: never four ASCII characters in a row (see there).
    if (/[\x20-\x7e]{4}/.test(password)) throw new Error(`${password} could match other output by chance`);
    return buildCase(shape, hosts, { user: 'app', password, secondPassword: 'se雪nt#ж1pw🔑xy密z', param: 'token', encoded });
  };

  /** Everything the server printed: started (banner, logs, the /healthz body), or its one message when it did not start. */
  const serverOutput = async (url: string): Promise<string> => {
    const server = await startServerProcess({ ...env, SESSION_STORE_URL: url }).catch((error: Error) => error.message);
    if (typeof server === 'string') return server;
    try {
      const health = await request(`${server.url}/healthz`);
      return `${health.body}\n${server.output()}`;
    } finally {
      await server.stop();
    }
  };

  it('the server, started or refused at start-up: its banner, logs, /healthz and start-up error hold no piece of a password', async () => {
    // A Sentinel URL that starts (both passwords encoded), so a banner and a server's logs are always looked at.
    const starts = example('redis+sentinel with sentinelPassword', 'pa?雪ss#ж/w密or🔑d9é', true);
    await fc.assert(
      fc.asyncProperty(storeUrlCase(hosts, everyShape), async (c) => {
        const output = await serverOutput(c.url);
        if (c.url === starts.url) expect(output).toContain('(store: redis+sentinel://app:***@127.0.0.1:5,127.0.0.1:7/mymaster?sentinelUsername=watch&sentinelPassword=***)');
        expectNoPiece(output, c);
      }),
      // And the examples: a PostgreSQL password with "?" (the banner printed the URL whole), a Cluster one with "/".
      processRuns(5, [starts, example('postgres', 'pa?雪ss#ж/w密or🔑d9é'), example('redis+cluster', 'lo雪ng/ж1p密ie🔑ce')]),
    );
  }, 120_000);

  it('a store that fails to open ("Gatehouse could not start: …"), or a URL refused before it, holds no piece of a password', async () => {
    await fc.assert(
      fc.asyncProperty(storeUrlCase(hosts, ['sqlite with a secret parameter']), async (c) => {
        const output = await serverOutput(c.url);
        // An unencoded `@` can make the part before it read as user info (which a sqlite:// URL cannot take): then the
        // URL is refused before opening. Whether it does is storeUrlProblem's call (a `:` before the `@`), not a guess here.
        const refused = storeUrlProblem(c.url) !== undefined;
        expect(output).toContain(refused ? 'SESSION_STORE_URL takes a file path, not a user name and password' : 'Gatehouse could not start: ');
        expectNoPiece(output, c);
      }),
      // And the one CI found: an `@` in the query, with no `:` before it, is no user info; the store refuses the parameter.
      processRuns(2, [example('sqlite with a secret parameter', '2ъtYL🌈%2F礨z不%25Ω%25ВK%灨%3Fюe?X🌇丂%23🔑@ñ')]),
    );
  }, 60_000);

  it('the users CLI, succeeding or failing, prints no piece of a password', async () => {
    await fc.assert(
      fc.asyncProperty(storeUrlCase(hosts, everyShape), async (c) => {
        const result = await run(process.execPath, ['--import', 'tsx', 'server/reference/cli/users.ts', 'revoke-sessions', 'nobody'], {
          env: { ...env, NODE_ENV: 'test', SESSION_STORE_URL: c.url },
        });
        expectNoPiece(result.stdout + result.stderr, c);
      }),
      processRuns(3, [example('postgres', 'pa#雪ss?ж1w密or🔑d9é'), example('redis+cluster', 'lo雪ng/ж1p密ie🔑ce')]),
    );
  }, 90_000);
});
