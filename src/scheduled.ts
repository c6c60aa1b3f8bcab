/**
 * The Worker's `scheduled` handler (Cron Triggers in wrangler.toml). Every job runs on each tick,
 * independently: one failing does not stop the others. Each outcome is logged, and the invocation
 * fails when any job failed, so the failure also shows in Cloudflare's cron event log.
 *
 * The jobs share one invocation, so they share its limits knowingly: one store is opened per run
 * (six connections, one budget of storage calls), and each job gets a fixed share of the budget,
 * so one job cannot starve the other; a job that reaches its share stops between two steps and
 * the next run continues. To add a job, append it to `SCHEDULED_JOBS` with its share.
 *
 * Before the jobs, the run records the shard count it serves in the shard-count history
 * (src/store/shard-counts.ts); a count below one served before runs no job at all.
 */
import { ConfigError, getConfig } from "./config/config";
import type { Env } from "./config/env";
import { describeError, log } from "./core/log";
import { runReconcile } from "./reconcile";
import { purgeExpiredPersonalData } from "./retention";
import { recordServedShardCount, retireAfterMs, shardCountProblem } from "./store/shard-counts";
import { openStore, type Store } from "./store/store";
import { sweepWebhookEvents } from "./webhooks";

/** What a job reports: operational numbers only (it is logged). */
type JobReport = Record<string, string | number | boolean | null>;

export interface ScheduledJob {
  name: string;
  /** The job's share of the run's storage budget (shares add up to at most 1). */
  budgetShare: number;
  run(env: Env, controller: ScheduledController, store: Store): Promise<JobReport>;
}

export const retentionJob: ScheduledJob = {
  name: "retention",
  budgetShare: 1 / 3,
  run: async (env, _controller, store) => ({ ...(await purgeExpiredPersonalData(env, { store })) }),
};

/** Reconcile with Qualtrics; a run that is skipped or fails is recorded in reconcile_runs. */
const reconcileJob: ScheduledJob = {
  name: "reconcile",
  budgetShare: 1 / 2,
  run: async (env, _controller, store) => {
    const run = await runReconcile(env, { trigger: "cron", store });
    if (run.status === "failed") throw new Error(`reconcile run ${run.id} failed: ${run.error}`);
    return { runId: run.id, status: run.status };
  },
};

/**
 * Webhook events from the ledger (src/webhooks/sweep.ts): two storage calls per shard, at the
 * run's scheduled time (a test gives the controller its own time).
 */
export const webhooksJob: ScheduledJob = {
  name: "webhooks",
  budgetShare: 1 / 6,
  run: async (env, controller, store) => ({
    ...(await sweepWebhookEvents(env, getConfig(env), store, controller.scheduledTime)),
  }),
};

export const SCHEDULED_JOBS: readonly ScheduledJob[] = [reconcileJob, retentionJob, webhooksJob];

class ScheduledJobsFailed extends AggregateError {
  override name = "ScheduledJobsFailed";
}

/**
 * Records that this run serves its shard count (and retires counts whose links are gone); throws
 * the configuration error of a count below one served before. A history that cannot be written
 * is logged and the jobs still run: each fails or succeeds on its own.
 */
async function recordShardCount(env: Env, store: Store, cron: string): Promise<void> {
  let config: ReturnType<typeof getConfig>;
  try {
    config = getConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return; // each job reports a broken configuration
    throw error;
  }
  let problem: string | null;
  try {
    const counts = await recordServedShardCount(
      store,
      config.ledgerShards,
      Date.now(),
      retireAfterMs(config),
    );
    problem = shardCountProblem(counts, config.ledgerShards);
  } catch (error) {
    log("shard_counts_failed", { what: "record", cron, error: describeError(error) });
    return;
  }
  if (problem) {
    log("config_error", { cron, problems: problem });
    throw new ConfigError(problem);
  }
}

export async function runScheduledJobs(
  jobs: readonly ScheduledJob[],
  env: Env,
  controller: ScheduledController,
): Promise<void> {
  const store = openStore(env);
  await recordShardCount(env, store, controller.cron);
  const budget = store.limits.remaining;
  const outcomes = await Promise.allSettled(
    jobs.map(async (job) => {
      const started = Date.now();
      const report = await job.run(
        env,
        controller,
        store.share(Math.floor(budget * job.budgetShare)),
      );
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
