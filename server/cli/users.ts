import { text } from 'node:stream/consumers';
import { systemClock } from '../clock.js';
import { loadConfigOrExit } from '../config.js';
import { createServices } from '../services.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import { openStore } from '../store/openStore.js';
import { secretScrubber } from '../store/redactUrl.js';
import { runUserCommand, UsageError } from './userCommands.js';

/** `npm run users -- …`: user administration against the configured store. Only wires. */
async function main(): Promise<number> {
  const config = loadConfigOrExit();
  // Nothing this prints may carry the store URL's password (D2).
  const scrub = secretScrubber(config.storeUrl);
  let store: KeyValueStore | undefined;
  try {
    store = await openStore({ url: config.storeUrl, timeoutMs: config.storeTimeoutMs, namespace: config.storeNamespace });
    const { users, sessions, hasher, throttle } = await createServices(config, store, systemClock);
    const output = await runUserCommand(process.argv.slice(2), {
      users,
      sessions,
      hasher,
      throttle,
      readPassword: async () => (await text(process.stdin)).split(/\r?\n/)[0] ?? '',
    });
    console.log(output);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 1;
    }
    console.error(`failed: ${scrub((error as Error).message)}`);
    return 2;
  } finally {
    await store?.close();
  }
}

process.exitCode = await main();
