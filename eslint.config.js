import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'examples/', 'web/build/', 'test-results/', 'data/', 'bench/results/', '.pack/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The dependency rule: the client sees the server only through `import type`.
    files: ['client/**/*.ts', 'web/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            // Gatehouse's server folder, not tRPC's packages: the client builds a link with @trpc/server/observable.
            { group: ['**/server/**', '**/server', '!@trpc/server', '!@trpc/server/observable'], allowTypeImports: true, message: 'client/ may import server/ only with `import type`.' },
          ],
        },
      ],
    },
  },
  {
    // The browser path of the client must not pull in Node-only modules.
    files: ['client/index.ts', 'web/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', 'tough-cookie', 'fetch-cookie'], message: 'Browser code: no Node-only imports.' }] },
      ],
    },
  },
  {
    // The shared folder crosses the wire: zod only.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/server/**', '**/client/**', 'node:*'], message: 'shared/ imports only zod.' }] }],
    },
  },
);
