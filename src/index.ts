/** Worker entry: the HTTP app, and the Cron Trigger (reconcile with Qualtrics). */
import { app } from "./app";
import type { Env } from "./env";
import { runReconcile } from "./qualtrics/reconcile";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(runReconcile(env, { trigger: "cron" }));
  },
} satisfies ExportedHandler<Env>;
