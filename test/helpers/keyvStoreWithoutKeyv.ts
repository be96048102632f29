/**
 * Calls `keyvStore(new Map(), …)` in a process where the package `keyv`
 * cannot be found, as if it were not installed, and prints the error's
 * message (a bare adapter needs `keyv` to be wrapped).
 *
 *   node --import tsx test/helpers/keyvStoreWithoutKeyv.ts
 */
import { register } from 'node:module';

// Resolve hooks run last-registered first, so this one answers before tsx's. Node's own error for a missing package.
const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === 'keyv') {
    throw Object.assign(new Error("Cannot find package 'keyv' imported from " + context.parentURL), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const { keyvStore } = await import('../../server/store/keyvStore.js');
try {
  const store = await keyvStore(new Map(), { timeoutMs: 1_000 });
  await store.close();
  console.log('opened');
} catch (error) {
  console.log((error as Error).message);
  process.exitCode = 1;
}
