import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/** Builds the dashboard into `<package>/dist/dashboard`, served by the node at `/dashboard/` (no CDN, no inline script). */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400
  }
})
