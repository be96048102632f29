import { text } from 'node:stream/consumers';
import { type BuiltInAccounts, createGatehouse, createLogger, type Gatehouse, loadConfigOrExit, secretScrubber } from '../../index.js';
import { runUserCommand, UsageError } from './userCommands.js';

/** `npm run users -- …`: user administration against the configured store. Only wires. */
async function main(): Promise<number> {
  const config = loadConfigOrExit();
  // Nothing this prints may carry the store URL's password (D2).
  const scrub = secretScrubber(config.gatehouse.store);
  let gatehouse: Gatehouse | undefined;
  try {
    gatehouse = await createGatehouse({ ...config.gatehouse, logger: createLogger('silent') });
    const { accounts, sessions, throttle } = gatehouse.services;
    const output = await runUserCommand(process.argv.slice(2), {
      // The reference server keeps the built-in user, so its accounts are the built-in directory.
      accounts: accounts as BuiltInAccounts,
      sessions,
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
    await gatehouse?.close();
  }
}

process.exitCode = await main();
