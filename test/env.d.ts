import type { D1Migration } from "@cloudflare/vitest-plugin";
import type { Env as WorkerEnv } from "../src/config/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** A D1 database no migration was applied to (vitest.config.ts). */
      BLANK_DB: D1Database;
      /** TAP_ADDRESS_LIMITER's kind of limiter at 200 per minute (vitest.config.ts). */
      SMALL_ADDRESS_LIMITER: RateLimit;
      /** ISSUE_LIMITER's kind of limiter at 100 per 10 s (vitest.config.ts). */
      SMALL_ISSUE_LIMITER: RateLimit;
    }
  }
}
