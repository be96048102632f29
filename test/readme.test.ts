import { describe, expect, it } from 'vitest';
import { exampleText, readmeExamples, readmeText, rewriteReadme, unmarkedTypeScriptBlocks } from './helpers/readmeExamples.js';

describe('the README’s code is the code CI compiles', () => {
  const readme = readmeText();

  it('every TypeScript block is an example taken from a file (npx tsx test/helpers/readmeExamples.ts rewrites them)', () => {
    expect(unmarkedTypeScriptBlocks(readme)).toEqual([]);
    const examples = readmeExamples(readme);
    expect(examples.length).toBeGreaterThanOrEqual(6);
    for (const example of examples) {
      expect(example.shown, `${example.file}${example.region ? `#${example.region}` : ''} differs from the README`).toBe(example.expected);
    }
  });

  it('shows the example app’s definition, router, accounts adapter and mount, whole', () => {
    for (const file of ['src/gatehouse.ts', 'src/router.ts', 'src/users.ts', 'src/app.ts']) {
      expect(readmeExamples(readme).some((e) => e.file === `examples/koa-app/${file}` && e.region === undefined)).toBe(true);
    }
  });

  it('a region is the lines between its markers, dedented; a missing one is an error naming the fix', () => {
    expect(exampleText('examples/koa-app/test/http.test.ts', 'readme')).toMatch(/^const \{ api, jar \} = createNodeClient/);
    expect(() => exampleText('examples/koa-app/src/app.ts', 'nope')).toThrow('examples/koa-app/src/app.ts has no region "nope" (// #region nope … // #endregion nope)');
  });

  it('a README whose example drifted from its file is caught, and rewriting fixes it', () => {
    const drifted = readme.replace('export const gh = initGatehouse({', 'export const gh = initGatehouse({ /* edited in the README only */');
    expect(drifted).not.toBe(readme);
    expect(readmeExamples(drifted).some((e) => e.shown !== e.expected)).toBe(true);
    expect(rewriteReadme(drifted)).toBe(readme);
  });
});
