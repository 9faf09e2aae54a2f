// ESLint 9 flat config: typescript-eslint's type-checked rules over everything
// tsconfig.json includes (src, test, bench), plain rules over the web page's
// browser JavaScript and the config files; formatting is Prettier's
// (eslint-config-prettier, last, turns off every rule it would fight with).
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // src/rpc/schema-types.ts is generated from schemas/ (scripts/schema-types.ts) and checked for staleness instead.
  { ignores: ['dist/', 'node_modules/', 'data/', 'test-artifacts/', '.venv-clients/', 'src/rpc/schema-types.ts'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      // Strict flags ~50 here, nearly all noise: numbers (`${ms}ms`), `${token.split(':')[0]}` (string | undefined only by
      // noUncheckedIndexedAccess), `exited ${code}` (null on a signal, printed on purpose), a RegExp shown as its pattern,
      // and any (already reported where it enters, by the no-unsafe-* rules). Objects, arrays, unknown and never stay refused.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowNullish: true, allowAny: true, allowRegExp: true, allowBoolean: false, allowArray: false, allowNever: false },
      ],
      // With noUncheckedIndexedAccess, `x[i]!` after a bounds or has() check is the idiom; the compiler already forces the question.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `return send(res, ...)` ends a handler and `() => (a(), b())` callbacks are this codebase's idioms, not confusion.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // `env.X?.trim() || fallback` deliberately treats an empty string as unset; ?? would change behaviour.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // `() => {}` is the deliberate no-op callback (.catch(() => {}), progress: () => {}).
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions'] }],
      // `const { _id, ...rest } = doc` omits a field; `_name` marks an unused binding on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // chai's property assertions (`expect(x).to.be.empty`) are expressions by design.
      '@typescript-eslint/no-unused-expressions': 'off',
      // Tests probe JSON answers of any shape (a reply's body is `any` on purpose) and let chai's assertions check them:
      // the unsafe-any rules guard the service's own code, where data from outside must be checked before use.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // JavaScript (the web page, eslint.config.js, .mocharc.cjs) is outside tsconfig: no type information, so no type-checked rules.
  { files: ['**/*.{js,cjs,mjs}'], extends: [tseslint.configs.disableTypeChecked] },
  { files: ['web/**/*.js'], languageOptions: { globals: globals.browser } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },
  prettier,
);
