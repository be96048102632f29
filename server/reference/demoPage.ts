import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const BUILD_DIR = fileURLToPath(new URL('../../web/build/', import.meta.url));

export interface DemoPageOptions {
  /** The server offers "stay signed in on this device": the page shows the checkbox and the remembered devices. */
  staySignedIn?: boolean;
}

/**
 * Serves the built demo page (`npm run build:web`) at `/`. What the server
 * offers is told to the page in an attribute of its `<main>` (the CSP allows
 * no inline script).
 */
export function demoPage(options: DemoPageOptions = {}): Koa.Middleware {
  const offers = options.staySignedIn ? ' data-stay-signed-in="on"' : '';
  const cache = new Map<string, Buffer>();
  return async function demoPageMiddleware(ctx, next) {
    const asset = ctx.method === 'GET' || ctx.method === 'HEAD' ? ASSETS[ctx.path] : undefined;
    if (!asset) return next();
    let content = cache.get(asset.file);
    if (!content) {
      try {
        content = await readFile(`${BUILD_DIR}${asset.file}`);
        if (asset.file === 'index.html') content = Buffer.from(content.toString('utf8').replace('<main id="app"', `<main id="app"${offers}`));
      } catch {
        ctx.status = 503;
        ctx.type = 'text/plain';
        ctx.body = 'The demo page is not built yet. Run: npm run build:web';
        return;
      }
      cache.set(asset.file, content);
    }
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = content;
  };
}
