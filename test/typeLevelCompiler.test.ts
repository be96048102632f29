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

describe('a context field of the team’s own under a name Gatehouse reserves', () => {
  const fields = ['session', 'user', 'services'];
  const sourceOf = (field: string) => `
import { initGatehouse } from '../server/index.js';
export const gh = initGatehouse({ context: async () => ({ tenant: 'acme', ${field}: 'mine' }) });
`;
  // One program for all three: each costs seconds.
  const said = compile(Object.fromEntries(fields.map((field) => [`reserved-${field}.ts`, sourceOf(field)])));

  it.each(fields)('returning a field named %s is one type error, on that line, that names the field and says it is reserved', (field) => {
    const [only, ...more] = said[`reserved-${field}.ts`]!;
    expect(more).toEqual([]);
    expect(only!.line).toBe(3);
    expect(only!.message).toContain(`ctx.${field} is reserved`);
  });
});
