import { defineConfig } from "vitest/config";

// End-to-end tests in Node: wrangler dev, real HTTP, Debian's Chromium through playwright-core.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
