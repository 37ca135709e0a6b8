// Lint rules: typescript-eslint's recommended set, plus the project's safety rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', '.tsbuild/**', 'node_modules/**', '.cache/**', 'docs/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [{ name: 'child_process', message: 'spawn tools through electron/tools/spawn.ts (execa, argument arrays)' }, { name: 'node:child_process', message: 'spawn tools through electron/tools/spawn.ts (execa, argument arrays)' }] }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'electron', 'react', 'react-dom'], message: 'shared/ is pure TypeScript: no Node, DOM or Electron' }] }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'electron', '../electron/*', '../../electron/*'], message: 'the renderer talks only to a WorkerClient' }] }],
    },
  },
  {
    files: ['electron/**/*.ts'],
    ignores: ['electron/shell/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'only electron/shell imports electron' }, { name: 'child_process', message: 'use electron/tools/spawn.ts' }, { name: 'node:child_process', message: 'use electron/tools/spawn.ts' }] }],
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}', 'build/**/*.ts'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
