/** Worker entry: the HTTP app, the scheduled jobs run by Cron Triggers, and the queue consumers. */
import { app } from "./app";
import type { Env } from "./config/env";
import { consumeQueue } from "./queues";
import { runScheduledJobs, SCHEDULED_JOBS } from "./scheduled";

export default {
  fetch: app.fetch,
  // Awaited, not waitUntil: the invocation lives as long as the jobs (imports are polled).
  scheduled: (controller, env) => runScheduledJobs(SCHEDULED_JOBS, env, controller),
  queue: (batch, env) => consumeQueue(batch, env),
} satisfies ExportedHandler<Env>;
