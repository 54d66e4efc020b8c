// ESLint (flat config): typescript-eslint's recommended rules plus the house rules that keep the
// layering honest. Formatting is Prettier's job (`npm run format`); only line length is checked here.
import js from '@eslint/js'
import stylistic from '@stylistic/eslint-plugin'
import { createNodeResolver, importX } from 'eslint-plugin-import-x'
import globals from 'globals'
import tseslint from 'typescript-eslint'

const PLUGINS = ['energy', 'learner', 'memory', 'models', 'tools']

export default tseslint.config(
  { ignores: ['dist/', 'packages/*/dist/', 'node_modules/', 'coverage/', '**/*.gen.ts', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,js,mjs,cjs}'],
    plugins: { '@stylistic': stylistic, 'import-x': importX },
    settings: {
      // imports are written `./x.js` and name `./x.ts` (NodeNext), as tsc resolves them
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    languageOptions: { globals: globals.node },
    rules: {
      '@stylistic/max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSAsExpression > TSAsExpression[typeAnnotation.type="TSUnknownKeyword"]',
          message: '`as unknown as` hides a type error: give the value a type that fits, or narrow it with a check.',
        },
      ],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/engine',
              from: ['./src/plugins', './src/runtimes', './src/cli', './src/commands', './src/lib'],
              message: 'the engine knows no capability by name: plugins and runtimes reach it through the hooks',
            },
            {
              target: './src/lib',
              from: ['./src/plugins', './src/runtimes', './src/cli', './src/commands'],
              message: 'the library sits below plugins',
            },
            ...PLUGINS.map((name) => ({
              target: `./src/plugins/${name}`,
              from: './src/plugins',
              except: [`./${name}`],
              message: 'plugins meet only through the engine and src/lib: move what is shared into src/lib',
            })),
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
)
