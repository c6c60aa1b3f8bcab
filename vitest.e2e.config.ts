import { defineConfig } from "vitest/config";

// End-to-end tests in Node: wrangler dev, real HTTP, Chromium through playwright-core
// (test/e2e/chromium.ts: the system's, or the one inside the npm package @sparticuz/chromium).
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
