import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { initGatehouse } from '../server/index.js';
import { createTestCaller } from '../server/testing.js';

// Issue 19.4: what `session.update(patch)` does with a field the patch leaves undefined. A procedure that copies an
// optional input field into the patch (`update({ pageSize: input.pageSize })`) hands over `undefined` whenever
// the client left it out; it must not reset what the session holds to the schema's default.
const gh = initGatehouse({
  sessionData: z.object({
    pageSize: z.number().int().min(5).max(100).default(20),
    theme: z.enum(['light', 'dark']).default('light'),
    tenantId: z.string().nullable().default(null),
    note: z.string().optional(),
  }),
});

/** The client's side of the preferences: every field optional, none with a default. */
const preferences = z.object({ pageSize: z.number().int(), theme: z.enum(['light', 'dark']), tenantId: z.string().nullable(), note: z.string() }).partial();

const appRouter = gh.router({
  /** The procedure: each field copied from the input, present or not. */
  setFieldByField: gh.protectedProcedure.input(preferences).mutation(({ ctx, input }) => ctx.session.update({ pageSize: input.pageSize, theme: input.theme })),
  /** zod's .partial() output handed over whole. */
  setPreferences: gh.protectedProcedure.input(preferences).mutation(({ ctx, input }) => ctx.session.update(input)),
  /** Back to the schema's default: the function form, with the field left out. */
  resetPageSize: gh.protectedProcedure.mutation(({ ctx }) => ctx.session.update(({ pageSize: _reset, ...rest }) => rest)),
  /** An optional field cleared the same way. */
  clearNote: gh.protectedProcedure.mutation(({ ctx }) => ctx.session.update((data) => ({ ...data, note: undefined }))),
});

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((caller) => caller.close()));
});

async function signedIn() {
  const caller = await createTestCaller({ gatehouse: gh, router: appRouter, user: { id: 'u-1', username: 'ann', role: 'user' }, data: { pageSize: 50, note: 'hi' } });
  opened.push(caller);
  return caller;
}

describe('a patch leaves a field it holds as undefined as it is', () => {
  it('update({ pageSize: input.pageSize, theme }) without pageSize in the input keeps pageSize 50 (it was reset to the default 20)', async () => {
    const { caller, session } = await signedIn();
    expect(await caller.setFieldByField({ theme: 'dark' })).toEqual({ pageSize: 50, theme: 'dark', tenantId: null, note: 'hi' });
    expect(session.current?.data).toEqual({ pageSize: 50, theme: 'dark', tenantId: null, note: 'hi' });
  });

  it('a zod .partial() input handed over whole changes only the fields the client sent', async () => {
    const { caller } = await signedIn();
    expect(await caller.setPreferences({ pageSize: 30 })).toEqual({ pageSize: 30, theme: 'light', tenantId: null, note: 'hi' });
    expect(await caller.setPreferences({ tenantId: 'acme', theme: 'dark' })).toEqual({ pageSize: 30, theme: 'dark', tenantId: 'acme', note: 'hi' });
  });

  it('the direct call from a test or a host route: update({ pageSize: undefined }) changes nothing of pageSize', async () => {
    const { session } = await signedIn();
    expect(await session.update({ pageSize: undefined, theme: 'dark' })).toEqual({ pageSize: 50, theme: 'dark', tenantId: null, note: 'hi' });
  });
});

describe('clearing a field', () => {
  it('null sets a nullable field to null', async () => {
    const { caller } = await signedIn();
    await caller.setPreferences({ tenantId: 'acme' });
    expect((await caller.setPreferences({ tenantId: null })).tenantId).toBeNull();
  });

  it('the function form, with the field left out (or undefined), resets it to the schema’s default', async () => {
    const { caller } = await signedIn();
    expect((await caller.resetPageSize()).pageSize).toBe(20);
  });

  it('the function form, with an optional field left undefined, removes it', async () => {
    const { caller, session } = await signedIn();
    expect(await caller.clearNote()).toEqual({ pageSize: 50, theme: 'light', tenantId: null });
    expect(session.current?.data).not.toHaveProperty('note');
  });
});
