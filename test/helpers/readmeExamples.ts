import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The README's TypeScript is real code: every ```ts block follows an
 * `<!-- example: <file>[#<region>] -->` marker and is that file (or the
 * lines between `// #region <region>` and `// #endregion <region>`,
 * dedented). The files are compiled and run where they live (the example
 * app against the packed tarball, by .ci/consumer.sh), so the README
 * shows what CI compiles. `npx tsx test/helpers/readmeExamples.ts` rewrites
 * the blocks from the files; test/readme.test.ts fails when they differ.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MARKED_BLOCK = /<!-- example: ([^\s#]+)(?:#([\w-]+))? -->\n```ts\n([\s\S]*?)```/g;

export interface ReadmeExample {
  file: string;
  region: string | undefined;
  shown: string;
  expected: string;
}

export function readmeText(): string {
  return readFileSync(`${ROOT}README.md`, 'utf8');
}

/** The text a marker names: a whole file, or one region of it without its marker lines, dedented. */
export function exampleText(file: string, region: string | undefined): string {
  const text = readFileSync(`${ROOT}${file}`, 'utf8');
  if (!region) return text;
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === `// #region ${region}`);
  const end = lines.findIndex((line, i) => i > start && line.trim() === `// #endregion ${region}`);
  if (start === -1 || end === -1) throw new Error(`${file} has no region "${region}" (// #region ${region} … // #endregion ${region})`);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((line) => line.trim()).map((line) => line.length - line.trimStart().length));
  return `${body.map((line) => line.slice(indent)).join('\n')}\n`;
}

export function readmeExamples(readme: string): ReadmeExample[] {
  return [...readme.matchAll(MARKED_BLOCK)].map(([, file, region, shown]) => ({ file: file!, region, shown: shown!, expected: exampleText(file!, region) }));
}

/** ```ts blocks with no example marker right before them: code nobody compiles. */
export function unmarkedTypeScriptBlocks(readme: string): string[] {
  const unmarked: string[] = [];
  const lines = readme.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '```ts' && !/^<!-- example: \S+ -->$/.test(lines[i - 1] ?? '')) unmarked.push(`README.md:${i + 1}: ${lines[i + 1] ?? ''}`);
  });
  return unmarked;
}

export function rewriteReadme(readme: string): string {
  return readme.replace(MARKED_BLOCK, (_, file: string, region: string | undefined) => `<!-- example: ${file}${region ? `#${region}` : ''} -->\n\`\`\`ts\n${exampleText(file, region)}\`\`\``);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(`${ROOT}README.md`, rewriteReadme(readmeText()));
  console.log('README.md: examples rewritten from their files');
}
