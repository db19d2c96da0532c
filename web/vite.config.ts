import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

// The dev server forwards API, WebSocket and health requests to a running
// notes-server, so the browser talks to one origin and the session cookie
// (SameSite=Strict) is sent with every request.
const serverUrl = process.env.NOTES_SERVER_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [vue()],
  server: {
    proxy: {
      '/api': { target: serverUrl, changeOrigin: false },
      '/ws': { target: serverUrl, ws: true, changeOrigin: false },
      '/healthz': { target: serverUrl },
    },
  },
  build: {
    // The polyfill is unneeded in current browsers and keeping it out leaves
    // the built page with no code that a strict Content-Security-Policy blocks.
    modulePreload: { polyfill: false },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
  },
});
