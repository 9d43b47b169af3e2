import tseslint from 'typescript-eslint';
import pluginVue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';

export default tseslint.config(
  {
    ignores: [
      'node_modules/', 'out/', 'dist/', 'runs/', 'test-results/', 'resources/', 'coverage/', '.cache/',
      // flatc's output from TensorFlow's TFLite schema (tflite/generate.sh), committed as generated.
      'src-main/engine/export/tflite/generated/',
    ],
  },
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parser: vueParser, parserOptions: { parser: tseslint.parser, sourceType: 'module' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
  {
    // The engine is a plain Node library: it must never import Electron.
    files: ['src-main/engine/**/*.ts', 'src-main/node/**/*.ts', 'src-main/cli/**/*.ts', 'src-main/common/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'the engine, host and CLI never import Electron' }] }] },
  },
);
