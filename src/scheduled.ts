/**
 * The Worker's `scheduled` handler (Cron Triggers in wrangler.toml). Every job runs on each tick,
 * independently: one failing does not stop the others. Each outcome is logged, and the invocation
 * fails when any job failed, so the failure also shows in Cloudflare's cron event log.
 * To add a job, append it to `SCHEDULED_JOBS`.
 */
import type { Env } from "./config/env";
import { describeError, log } from "./core/log";
import { runReconcile } from "./reconcile";
import { purgeExpiredPersonalData } from "./retention";

/** What a job reports: operational numbers only (it is logged). */
type JobReport = Record<string, string | number | boolean | null>;

export interface ScheduledJob {
  name: string;
  run(env: Env, controller: ScheduledController): Promise<JobReport>;
}

export const retentionJob: ScheduledJob = {
  name: "retention",
  run: async (env) => ({ ...(await purgeExpiredPersonalData(env)) }),
};

/** Reconcile with Qualtrics; a run that is skipped or fails is recorded in reconcile_runs. */
const reconcileJob: ScheduledJob = {
  name: "reconcile",
  run: async (env) => {
    const run = await runReconcile(env, { trigger: "cron" });
    if (run.status === "failed") throw new Error(`reconcile run ${run.id} failed: ${run.error}`);
    return { runId: run.id, status: run.status };
  },
};

export const SCHEDULED_JOBS: readonly ScheduledJob[] = [reconcileJob, retentionJob];

class ScheduledJobsFailed extends AggregateError {
  override name = "ScheduledJobsFailed";
}

export async function runScheduledJobs(
  jobs: readonly ScheduledJob[],
  env: Env,
  controller: ScheduledController,
): Promise<void> {
  const outcomes = await Promise.allSettled(
    jobs.map(async (job) => {
      const started = Date.now();
      const report = await job.run(env, controller);
      log("scheduled_job_done", {
        ...report,
        job: job.name,
        cron: controller.cron,
        ms: Date.now() - started,
      });
    }),
  );
  const failed: { job: string; error: unknown }[] = [];
  outcomes.forEach((outcome, i) => {
    if (outcome.status === "fulfilled") return;
    const job = jobs[i]?.name ?? "unknown";
    failed.push({ job, error: outcome.reason });
    log("scheduled_job_failed", {
      job,
      cron: controller.cron,
      error: outcome.reason instanceof Error ? outcome.reason.name : "unknown",
      message: describeError(outcome.reason),
    });
  });
  if (failed.length > 0) {
    throw new ScheduledJobsFailed(
      failed.map((f) => f.error),
      `scheduled jobs failed: ${failed.map((f) => f.job).join(", ")}`,
    );
  }
}
