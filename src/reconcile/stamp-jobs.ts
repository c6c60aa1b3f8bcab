/**
 * Following update-responses jobs (this run's and earlier ones') until they finish: `queued`
 * (behind another job of the survey) and `inProgress` are polled again; `complete` stamps the
 * job's invites, except those whose responses its errors name, which are refused with that error;
 * `failed` sends its stamps again next run. Errors and warnings Qualtrics reports are read and
 * reported in a notice per survey. One job's failure never stops the polling of the others.
 */

import { QualtricsError } from "../qualtrics/errors";
import type { UpdateJobProgress } from "../qualtrics/replies";
import { ReconcileError, type RunContext } from "./run-context";
import { completeStampJob, failStampJob, openStampJobs } from "./storage/stamps";

/** Qualtrics' own messages kept in a notice, per survey and run. */
const MESSAGES_KEPT = 5;
const MESSAGE_LENGTH = 200;

/** The errors and warnings the jobs of each survey reported in this run. */
function createJobReports(ctx: RunContext) {
  const bySurvey = new Map<string, { errors: number; warnings: number; messages: string[] }>();
  const surveyKey = (surveyId: string) =>
    [...ctx.config.surveys.values()].find((s) => s.qualtricsSurveyId === surveyId)?.key ?? surveyId;
  return {
    add(surveyId: string, progress: UpdateJobProgress) {
      if (progress.errorCount + progress.warningCount === 0) return;
      const key = surveyKey(surveyId);
      const report = bySurvey.get(key) ?? { errors: 0, warnings: 0, messages: [] };
      report.errors += progress.errorCount;
      report.warnings += progress.warningCount;
      for (const { message } of [...progress.errors, ...progress.warnings]) {
        if (report.messages.length < MESSAGES_KEPT) {
          report.messages.push(message.slice(0, MESSAGE_LENGTH));
        }
      }
      bySurvey.set(key, report);
    },
    finish() {
      for (const [survey, report] of bySurvey) {
        ctx.tally.notices.push({ survey, code: "stamp_job_messages", ...report });
      }
    },
  };
}

/** Polls open stamp jobs until they finish or this run's polls for them are spent. */
export async function settleStampJobs(ctx: RunContext, startedThisRun: boolean): Promise<void> {
  const reports = createJobReports(ctx);
  /** Jobs this run is done with: finished, or failing to answer (polled again next run). */
  const done = new Set<string>();
  try {
    for (let round = 0; round < ctx.maxPollsPerJob; round++) {
      const open = (await openStampJobs(ctx.store)).filter((j) => !done.has(j.progress_id));
      if (open.length === 0) return;
      if (round > 0 || startedThisRun) await ctx.sleep(ctx.pollIntervalMs);
      for (const job of open) {
        try {
          const progress = await ctx.client.getUpdateResponses(job.survey_id, job.progress_id);
          reports.add(job.survey_id, progress);
          if (await settleJob(ctx, job.progress_id, progress)) done.add(job.progress_id);
        } catch (error) {
          done.add(job.progress_id);
          if (!(error instanceof QualtricsError) || error.status !== 404) {
            ctx.fail(`update-responses job ${job.progress_id}`, error);
            continue;
          }
          await failStampJob(ctx.store, job.progress_id, ctx.now());
          ctx.tally.errors.push(
            `update-responses job ${job.progress_id} is gone; sent again next run`,
          );
        }
      }
    }
  } finally {
    reports.finish();
  }
}

/** Acts on one job's progress; true when the job is finished. */
async function settleJob(
  ctx: RunContext,
  progressId: string,
  progress: UpdateJobProgress,
): Promise<boolean> {
  if (progress.complete) {
    const refusedResponses = progress.errors.flatMap(({ responseId, message }) =>
      responseId ? [{ responseId, reason: message }] : [],
    );
    const settled = await completeStampJob(ctx.store, progressId, refusedResponses, ctx.now());
    ctx.tally.stamped += settled.stamped;
    for (const { id, reason } of settled.refused) {
      ctx.tally.refused.add({ inviteId: id, phase: "stamp", reason });
    }
    return true;
  }
  if (progress.failed) {
    await failStampJob(ctx.store, progressId, ctx.now());
    ctx.fail(
      `update-responses job ${progressId}`,
      new ReconcileError(
        `failed at Qualtrics with ${progress.errorCount} error(s); its stamps are sent again next run`,
      ),
    );
    return true;
  }
  return false; // queued or in progress
}
