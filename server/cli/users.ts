import { text } from 'node:stream/consumers';
import { createPasswordHasher } from '../accounts/passwordHasher.js';
import { StoreUserDirectory } from '../accounts/userDirectory.js';
import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config.js';
import { Sealer } from '../session/sealer.js';
import { SessionStore } from '../session/sessionStore.js';
import { openStore } from '../store/openStore.js';
import { runUserCommand, UsageError } from './userCommands.js';

/** `npm run users -- …`: user administration against the configured store. Only wires. */
async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
  const store = await openStore({ url: config.storeUrl, timeoutMs: config.storeTimeoutMs, namespace: config.storeNamespace });
  try {
    const sessions = new SessionStore(store, new Sealer(config.sessionKeys), systemClock, {
      idleMs: config.idleTimeoutMs,
      absoluteMs: config.absoluteTimeoutMs,
    });
    const output = await runUserCommand(process.argv.slice(2), {
      users: new StoreUserDirectory(store),
      sessions,
      hasher: await createPasswordHasher(),
      readPassword: async () => (await text(process.stdin)).split(/\r?\n/)[0] ?? '',
    });
    console.log(output);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 1;
    }
    console.error(`failed: ${(error as Error).message}`);
    return 2;
  } finally {
    await store.close();
  }
}

process.exitCode = await main();
