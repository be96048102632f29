import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * What the compiler says about a few files a team would write, compiled in
 * memory next to the tests (so `../server/index.js` and `./helpers/…`
 * resolve) with the repository's tsconfig and the given overrides. For the
 * promises a `@ts-expect-error` cannot check: that code compiles under
 * another setting (`exactOptionalPropertyTypes`), or what an error says.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Diagnostic {
  /** 1-based. */
  line: number;
  /** The whole message, its chain flattened with newlines. */
  message: string;
}

export function compile(files: Record<string, string>, overrides: ts.CompilerOptions = {}): Record<string, Diagnostic[]> {
  const config = ts.readConfigFile(`${ROOT}tsconfig.json`, (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const options: ts.CompilerOptions = { ...parsed.options, ...overrides, noEmit: true };
  const virtual = new Map(Object.entries(files).map(([name, text]) => [`${ROOT}test/${name}`, text]));
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (path) => virtual.has(path) || fileExists.call(host, path);
  host.readFile = (path) => virtual.get(path) ?? readFile.call(host, path);
  host.getSourceFile = (path, language, onError) => {
    const text = virtual.get(path);
    return text === undefined ? getSourceFile.call(host, path, language, onError) : ts.createSourceFile(path, text, language);
  };
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host });
  const result: Record<string, Diagnostic[]> = {};
  for (const [name] of Object.entries(files)) {
    const source = program.getSourceFile(`${ROOT}test/${name}`)!;
    result[name] = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => ({
      line: d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line + 1,
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }));
  }
  return result;
}

/** The 1-based line of the first line of `text` holding `marker`. */
export function lineOf(text: string, marker: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(marker));
  if (index === -1) throw new Error(`no line holds ${marker}`);
  return index + 1;
}
