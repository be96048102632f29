// Bundles the shop's frontend for browsers and checks that no server code came along.
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['src/browser.ts'],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  minify: true,
  metafile: true,
  write: false,
  logLevel: 'silent',
});
const inputs = Object.keys(result.metafile.inputs);
const serverCode = [
  /node_modules\/(koa|koa-session|koa-compose|koa-helmet|@koa\/[^/]+|pino|argon2|better-sqlite3|redis|@redis\/[^/]+|pg|keyv|tough-cookie|fetch-cookie)\//,
  /koa-gatehouse\/dist\/server\//,
  /^node:/,
];
const offending = inputs.filter((input) => serverCode.some((pattern) => pattern.test(input)));
const text = result.outputFiles[0].text;
const markers = ['node:crypto', 'createHmac', 'argon2', 'koa-session', 'pino'].filter((marker) => text.includes(marker));
if (offending.length > 0 || markers.length > 0) {
  console.error(`check-bundle: server code in the browser bundle:\n  ${[...offending, ...markers.map((m) => `text contains "${m}"`)].join('\n  ')}`);
  process.exit(1);
}
const gatehouse = inputs.filter((input) => input.includes('koa-gatehouse/'));
console.log(`check-bundle: ok, ${inputs.length} modules, ${text.length} bytes minified; from koa-gatehouse: ${gatehouse.join(', ')}`);
