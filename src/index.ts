/** Worker entry: the HTTP app, and the Cron Trigger (reconcile with Qualtrics). */
import { app } from "./app";
import type { Env } from "./env";
import { runReconcile } from "./qualtrics/reconcile";

export default {
  fetch: app.fetch,
  // Awaited, not waitUntil: the invocation lives as long as the run (imports are polled).
  async scheduled(_controller, env, _ctx) {
    await runReconcile(env, { trigger: "cron" });
  },
} satisfies ExportedHandler<Env>;
