import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** Ledger shard counts the workerd suite runs on: each is a project running every test file. */
const SHARD_COUNTS = [1, 4];

/**
 * Workerd test files whose outcome cannot depend on the shard count (what a page looks like):
 * run by the first project only.
 */
const SHARD_INDEPENDENT = ["test/brand.test.ts"];

// Tests run inside workerd against real local KV and D1 (the Workers Vitest pool).
export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  return {
    test: {
      // A fake Qualtrics server on loopback (Node side), following the Qualtrics API contract.
      globalSetup: ["./test/fake-qualtrics/global-setup.js"],
      projects: [
        // Pure logic and the source tree's rules, in plain Node.
        { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
        ...SHARD_COUNTS.map((shards) => ({
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: { TEST_MIGRATIONS: migrations, LEDGER_SHARDS: String(shards) },
                // An empty ledger database (no migrations applied): the health check must notice.
                d1Databases: { BLANK_DB: "invite-edge-blank" },
                // The per-address tap ceiling with a small limit, so its test does not depend on
                // how many taps a busy machine serves in a minute.
                ratelimits: {
                  SMALL_ADDRESS_LIMITER: {
                    namespace_id: "1999",
                    simple: { limit: 200, period: 60 },
                  },
                },
              },
            }),
          ],
          test: {
            name: `shards-${shards}`,
            setupFiles: ["./test/setup/apply-migrations.ts"],
            include: ["test/**/*.test.ts"],
            exclude: ["test/unit/**", ...(shards === SHARD_COUNTS[0] ? [] : SHARD_INDEPENDENT)],
            testTimeout: 30_000,
          },
        })),
      ],
    },
  };
});
