/**
 * Opens `openStore({ url })` in a process where the package `hidden` cannot
 * be found, as if it were not installed, and prints the error's message.
 *
 *   node --import tsx test/helpers/openWithoutDriver.ts <hidden package> <store URL>
 */
import { register } from 'node:module';

const [hidden, url] = process.argv.slice(2) as [string, string];
// Resolve hooks run last-registered first, so this one answers before tsx's. Node's own error for a missing package.
const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === ${JSON.stringify(hidden)}) {
    throw Object.assign(new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const { openStore } = await import('../../server/store/openStore.js');
try {
  const store = await openStore({ url, timeoutMs: 1_000 });
  await store.close();
  console.log('opened');
} catch (error) {
  console.log((error as Error).message);
  process.exitCode = 1;
}
