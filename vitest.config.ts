import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** Ledger shard counts the workerd suite runs on: each is a project running every test file. */
const SHARD_COUNTS = [1, 4];

/** Files that set LEDGER_SHARDS themselves: run once, in the first project. */
const ONCE = ["test/shard-counts.test.ts"];

/** The in-flight count at production's scale runs alone, on 32 local shards. */
const WIDE_SHARDS = 32;
const WIDE_FILES = ["test/inflight-32.test.ts"];

/** D1 databases beyond wrangler.toml's DB … DB_7, for the wide project: DB_8 … DB_31. */
const wideDatabases = Object.fromEntries(
  Array.from({ length: WIDE_SHARDS - 8 }, (_, i) => [`DB_${i + 8}`, `invite-edge-${i + 8}`]),
);

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
        ...[...SHARD_COUNTS, WIDE_SHARDS].map((shards) => ({
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: { TEST_MIGRATIONS: migrations, LEDGER_SHARDS: String(shards) },
                // An empty ledger database (no migrations applied): the health check must notice.
                d1Databases: {
                  BLANK_DB: "invite-edge-blank",
                  ...(shards === WIDE_SHARDS ? wideDatabases : {}),
                },
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
            include: shards === WIDE_SHARDS ? WIDE_FILES : ["test/**/*.test.ts"],
            exclude: [
              "test/unit/**",
              ...(shards === WIDE_SHARDS ? [] : WIDE_FILES),
              ...(shards === SHARD_COUNTS[0] ? [] : ONCE),
            ],
            testTimeout: 30_000,
          },
        })),
      ],
    },
  };
});
