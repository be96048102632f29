/**
 * Starts Gatehouse in a process where the package `hidden` cannot be found, as if it were not installed,
 * and prints what happened: `started`, or the error's message.
 *
 *   node --import tsx test/helpers/startWithoutPackage.ts <hidden package> <own-users | built-in | hasher>
 */
import { register } from 'node:module';

const [hidden, scenario] = process.argv.slice(2) as [string, 'own-users' | 'built-in' | 'hasher'];
// Resolve hooks run last-registered first, so this one answers before tsx's. Node's own error for a missing package.
const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === ${JSON.stringify(hidden)}) {
    throw Object.assign(new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

// The package's entry loads without it: nothing imports it at the top level.
const { createGatehouse, createLogger, createPasswordHasher } = await import('../../server/index.js');
const keys = ['a-key-of-at-least-32-characters-0123456789'];
const logger = createLogger('silent');
try {
  if (scenario === 'hasher') {
    await createPasswordHasher();
  } else {
    const ownUsers = { authenticate: async () => undefined, findById: async () => undefined };
    const gatehouse = await createGatehouse(scenario === 'own-users' ? { keys, logger, accounts: ownUsers } : { keys, logger });
    await gatehouse.close();
  }
  console.log('started');
} catch (error) {
  console.log((error as Error).message);
  process.exitCode = 1;
}
