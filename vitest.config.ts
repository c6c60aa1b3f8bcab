import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Tests run inside workerd against real local KV and D1 (the Workers Vitest pool).
export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations },
          // An empty ledger database (no migrations applied): the health check must notice.
          d1Databases: { BLANK_DB: "invite-edge-blank" },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup/apply-migrations.ts"],
      // A fake Qualtrics server on loopback (Node side), following shared/qualtrics-api.md.
      globalSetup: ["./test/fake-qualtrics/global-setup.js"],
      include: ["test/**/*.test.ts"],
      testTimeout: 30_000,
    },
  };
});
