import { defineConfig } from "vitest/config";

/** Shared by the projects: long timeouts. */
const e2e = {
  testTimeout: 180_000,
  hookTimeout: 180_000,
};

// End-to-end tests in Node: `npm start`, real HTTP, Chromium through playwright-core
// (test/e2e/chromium.ts: the system's, or the one inside the npm package @sparticuz/chromium).
export default defineConfig({
  test: {
    // Two files at a time. Each file starts its own `npm start` (its own port and local state)
    // and spends most of its time waiting on processes, so two overlap well on two cores.
    maxWorkers: 2,
    tags: [
      {
        name: "node-versions",
        description:
          "What adopters run under Node (npm start, the scripts): CI runs these again on Node 22 and 24.",
      },
    ],
    projects: [
      // `npm test`'s end-to-end suite.
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.ts"],
          exclude: ["test/e2e/load.e2e.ts"],
          ...e2e,
        },
      },
      // `npm run test:scripts`: the files with tests tagged node-versions, which CI runs again
      // on Node 22 and 24 (with --tags-filter node-versions).
      {
        test: {
          name: "scripts",
          include: [
            "test/e2e/start.e2e.ts",
            "test/e2e/api-key.e2e.ts",
            "test/e2e/provision-shards.e2e.ts",
            "test/e2e/demo-reconcile.e2e.ts",
          ],
          ...e2e,
        },
      },
      // `npm run test:load`: 10,000 links on 4 shards, run once by CI.
      { test: { name: "load", include: ["test/e2e/load.e2e.ts"], ...e2e } },
    ],
  },
});
