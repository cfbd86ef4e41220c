// Lint rules: typescript-eslint's recommended set, plus the house habits that a linter can hold.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.rotor/', 'coverage/', 'test-results/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // The CLI, benchmarks, examples and test helpers talk to a terminal on purpose.
    files: ['src/cli/**', 'bench/**', 'examples/**', 'test/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
);
