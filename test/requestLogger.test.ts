import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { lazyLogOf } from '../server/http/requestId.js';
import { createLogger } from '../server/logger.js';

describe('the tRPC context logger proxy', () => {
  it('does not show the Koa context (and its Cookie header) when inspected', () => {
    const ctx = { state: {}, headers: { cookie: 'sid=secret-cookie-value' } } as never;
    const log = lazyLogOf(ctx, createLogger('silent'));
    expect(inspect(log, { depth: 5, showProxy: true })).not.toContain('secret-cookie-value');
    expect(typeof log.info).toBe('function');
  });
});
