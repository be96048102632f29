/**
 * For a Node project without the DOM lib that type-checks its dependencies
 * (`skipLibCheck: false`): @trpc/client's own declarations name
 * `RequestInfo`, which only the DOM lib declares (@types/node has `Request`,
 * `RequestInit` and `fetch`, not this alias). Import it once, for its types:
 *
 * @example
 * import type {} from 'koa-gatehouse/client/node-globals';
 *
 * Never in a project with the DOM lib, which declares the same name (tsc
 * then reports a duplicate identifier); with `skipLibCheck: true` nothing
 * needs it.
 */
export {};

declare global {
  /** The DOM lib's `RequestInfo`, exactly. */
  type RequestInfo = Request | string;
}
