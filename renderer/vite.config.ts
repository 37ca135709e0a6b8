// Vite builds the renderer into dist/renderer with relative asset paths (base './'), so the
// same files load from file:// in Electron and from `h2k-worker serve` in a browser.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
// eslint-disable-next-line no-restricted-imports -- this config runs in Node (Vite), not in the renderer
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react()],
  publicDir: 'public',
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: true,
    // No inline data: fonts or scripts: the CSP allows only our own files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
