/** Worker entry: the HTTP app, and the scheduled jobs run by Cron Triggers. */
import { app } from "./app";
import type { Env } from "./config/env";
import { runScheduledJobs, SCHEDULED_JOBS } from "./scheduled";

export default {
  fetch: app.fetch,
  // Awaited, not waitUntil: the invocation lives as long as the jobs (imports are polled).
  scheduled: (controller, env) => runScheduledJobs(SCHEDULED_JOBS, env, controller),
} satisfies ExportedHandler<Env>;
