import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig, type TestProjectConfiguration } from "vitest/config";

/**
 * Test files about the ledger: what they check can differ with the number of shards, so they run
 * once per shard count. Every other workerd file runs once, on one shard (docs/development.md).
 */
const LEDGER_FILES = [
  "test/contact-rules.test.ts",
  "test/legacy-links.test.ts",
  "test/links.test.ts",
  "test/privacy*.test.ts",
  "test/reconcile*.test.ts",
  "test/same-device.test.ts",
  "test/shards.test.ts",
  "test/stats.test.ts",
  "test/stats-shards.test.ts",
  "test/tap.test.ts",
  "test/tap-languages.test.ts",
  "test/tap-roundtrips.test.ts",
  "test/webhooks.test.ts",
  "test/security/failure-status.test.ts",
  "test/security/faults.test.ts",
  "test/security/privacy-logs.test.ts",
  "test/security/privacy-retention.test.ts",
];

/** Ledger shard counts the ledger's files run on: one project each. */
const SHARD_COUNTS = [1, 4];

/** The in-flight count and the retention purge at production's scale run alone, on 32 local shards. */
const WIDE_SHARDS = 32;
const WIDE_FILES = ["test/inflight-32.test.ts", "test/retention-32.test.ts"];

/** D1 databases beyond wrangler.toml's DB … DB_7, for the wide project: DB_8 … DB_31. */
const wideDatabases = Object.fromEntries(
  Array.from({ length: WIDE_SHARDS - 8 }, (_, i) => [`DB_${i + 8}`, `invite-edge-${i + 8}`]),
);

// Tests run inside workerd against real local KV and D1 (the Workers Vitest pool).
export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");

  /** A workerd project: the Worker of wrangler.toml with LEDGER_SHARDS = `shards`. */
  const workerd = (
    name: string,
    shards: number,
    files: { include: string[]; exclude?: string[] },
    moreDatabases: Record<string, string> = {},
  ): TestProjectConfiguration => ({
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations, LEDGER_SHARDS: String(shards) },
          // An empty ledger database (no migrations applied): the health check must notice.
          d1Databases: { BLANK_DB: "invite-edge-blank", ...moreDatabases },
          // The per-address tap ceiling and the per-key issue limit with small limits, so their
          // tests do not depend on how many requests a busy machine serves in a window.
          ratelimits: {
            SMALL_ADDRESS_LIMITER: { namespace_id: "1999", simple: { limit: 200, period: 60 } },
            SMALL_ISSUE_LIMITER: { namespace_id: "1998", simple: { limit: 100, period: 10 } },
          },
        },
      }),
    ],
    test: {
      name,
      // One runtime (Miniflare, its storage and the loaded modules) per worker for all the files
      // it runs, instead of a fresh one per file: most of a file's cost was starting it. Files
      // therefore share storage; each sets up (or clears) what it counts.
      isolate: false,
      setupFiles: ["./test/setup/apply-migrations.ts"],
      include: files.include,
      exclude: ["test/unit/**", ...(files.exclude ?? [])],
      // Generous: CI machines are shared, and a timeout here would only be noise.
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  });

  return {
    test: {
      // A fake Qualtrics server on loopback (Node side), following the Qualtrics API contract,
      // and a webhook receiver that verifies signatures with the standardwebhooks package.
      globalSetup: [
        "./test/fake-qualtrics/global-setup.js",
        "./test/webhook-receiver/global-setup.js",
      ],
      projects: [
        // Pure logic and the source tree's rules, in plain Node.
        {
          test: {
            name: "unit",
            include: ["test/unit/**/*.test.ts"],
            // The tree's rules read every source file: seconds on a busy machine.
            testTimeout: 30_000,
          },
        },
        // Everything that runs inside the Worker but not about the ledger's shards: once.
        workerd("workerd", 1, {
          include: ["test/**/*.test.ts"],
          exclude: [...LEDGER_FILES, ...WIDE_FILES],
        }),
        ...SHARD_COUNTS.map((shards) =>
          workerd(`shards-${shards}`, shards, { include: LEDGER_FILES }),
        ),
        workerd(`shards-${WIDE_SHARDS}`, WIDE_SHARDS, { include: WIDE_FILES }, wideDatabases),
      ],
    },
  };
});
