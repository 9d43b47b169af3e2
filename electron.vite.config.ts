import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';
import { fileURLToPath } from 'node:url';

const alias = {
  '@common': fileURLToPath(new URL('./src-main/common', import.meta.url)),
  '@renderer': fileURLToPath(new URL('./src-renderer/src', import.meta.url)),
};

export default defineConfig({
  main: {
    build: { rollupOptions: { input: { index: 'src-main/electron/main.ts', 'run-worker': 'src-main/node/run-worker.ts' } } },
  },
  preload: {
    // A sandboxed preload cannot require() from node_modules: bundle everything into one CJS file.
    build: {
      externalizeDeps: false,
      rollupOptions: { input: { index: 'src-preload/index.ts' }, output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: 'src-renderer',
    resolve: { alias },
    plugins: [vue()],
    build: { rollupOptions: { input: 'src-renderer/index.html' } },
  },
});
