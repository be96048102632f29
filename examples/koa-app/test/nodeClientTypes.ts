// Compiled by tsconfig.test.json (lib ES2023, no DOM, skipLibCheck off), never run: the Node client's types bring
// no DOM lib into the project. The one DOM name @trpc/client's own declarations use (RequestInfo) comes from the
// node-globals entry, which a project without the DOM lib and with skipLibCheck off imports once.
import type {} from 'koa-gatehouse/client/node-globals';
import { createNodeClient } from 'koa-gatehouse/client/node';
import type { AppRouter } from '../src/router.js';

export const client = createNodeClient<AppRouter>({ url: 'http://127.0.0.1:3000', prefix: '/api/trpc' });

export function renameTab(): void {
  // @ts-expect-error server and test code has no `document`: importing the Node client must not declare one
  document.title = 'a Node process has no document';
}
