import { describe, expect, it } from 'vitest';
import { compile } from './helpers/compile.js';

// Type-level promises a `@ts-expect-error` in typeLevel.test.ts cannot check, asked of the compiler itself: code
// that must compile under both settings of `exactOptionalPropertyTypes` (the repository's typecheck runs with it
// off), and what an error says. Each program loads zod's and tRPC's types: a few seconds.

const patchWithZodPartial = `
import { z } from 'zod';
import { team } from './helpers/teamApp.js';

const preferences = z.object({ theme: z.enum(['light', 'dark']), tenantId: z.string().nullable() }).partial();
export const setPreferences = team.protectedProcedure.input(preferences).mutation(async ({ ctx, input }) => {
  await ctx.session.update(input);
  await ctx.session.update({ theme: input.theme, tenantId: input.tenantId });
  await ctx.session.update({ theme: undefined });
  return (await ctx.session.update((data) => ({ ...data, theme: undefined }))).theme;
});
`;

describe('session.update() and zod’s .partial() (issue 19.4)', () => {
  it.each([true, false])('with exactOptionalPropertyTypes: %s, a .partial() input, a patch of its fields and an undefined field all compile', (exact) => {
    expect(compile({ 'patch.ts': patchWithZodPartial }, { exactOptionalPropertyTypes: exact })['patch.ts']).toEqual([]);
  });
});
