import type { D1Migration } from "@cloudflare/vitest-plugin";
import type { Undeclared } from "../src/config/env";

// `env` from cloudflare:test: what wrangler.toml declares (worker-configuration.d.ts), what it
// cannot (src/config/env.ts), and the bindings vitest.config.ts adds for the tests.
declare global {
  namespace Cloudflare {
    interface Env extends Undeclared {
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
