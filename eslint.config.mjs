// ESLint (flat config): typescript-eslint's recommended rules without type information (fast),
// with formatting left to Prettier (eslint-config-prettier turns off the rules it covers).
// The import layering is checked by dependency-cruiser (.dependency-cruiser.cjs), not here.
// `require()` stays an error: where a module is loaded lazily on purpose (the CLI's commands,
// an SDK client on first use), an eslint-disable comment says why.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const readonly = (names) => Object.fromEntries(names.map((name) => [name, 'readonly']));

/** Node's globals for the plain JavaScript files (the `globals` package is not a dependency). */
const NODE_GLOBALS = readonly([
  'require',
  'module',
  'exports',
  '__dirname',
  '__filename',
  'process',
  'console',
  'Buffer',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'URL',
  'performance',
]);

/** The dashboard page's globals (plain browser JavaScript, uPlot loaded by a script tag). */
const BROWSER_GLOBALS = readonly(['window', 'document', 'fetch', 'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'uPlot', 'URLSearchParams', 'performance']);

export default defineConfig(
  {
    ignores: ['node_modules/', 'cdk.out/', 'dist/', 'coverage/', '.shardline/', '.scratch/', 'clients/python/'],
  },
  {
    // A disable comment that no longer suppresses anything is an error: stale ones go.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names are unused on purpose (a callback's position, a rest sibling).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: NODE_GLOBALS },
    rules: {
      // CommonJS files (the launcher, Jest's and dependency-cruiser's configs) require by nature.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['lib/observability/dashboard/static/**/*.js'],
    languageOptions: { sourceType: 'script', globals: BROWSER_GLOBALS },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read synthesized templates and SDK responses, where a precise type adds nothing.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  prettier,
);
