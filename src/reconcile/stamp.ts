/**
 * Stamping responses: for newly completed invites, one update-responses job per survey writes
 * the authoritative invite values (the ones invite-edge signed, rebuilt from the ledger) over the
 * response's embedded data, plus `invite_tampered` = "1" when the URL-supplied values differed or
 * `sig` did not verify, else "0". Re-sending a stamp is harmless (same values), so a job whose
 * outcome is unknown is simply sent again by a later run.
 */

import { describeError } from "../core/log";
import type { ResponseUpdate } from "../qualtrics/bodies";
import { chunkResponseUpdates, MAX_UPDATES_PER_JOB } from "../qualtrics/chunking";
import { QualtricsError } from "../qualtrics/errors";
import { signedValues } from "./completions";
import { type RunContext, stopsRun } from "./run-context";
import { listOpenStampJobs, type StampCandidate } from "./storage/stamp-rows";
import {
  completeStampJob,
  failStampJob,
  recordStampJob,
  selectStampCandidates,
} from "./storage/stamps";

function stampUpdate(invite: StampCandidate): ResponseUpdate | null {
  const values = signedValues(invite);
  if (values === null) return null;
  return {
    responseId: invite.response_id,
    embeddedData: { ...values, invite_tampered: invite.tampered === 1 ? "1" : "0" },
    resetRecordedDate: false,
  };
}

export async function stampResponses(ctx: RunContext): Promise<void> {
  let started = 0;
  const surveys = [...ctx.config.surveys.values()].filter((s) => s.qualtricsSurveyId);
  // Every survey's candidates at once: one query per shard.
  const candidates = await selectStampCandidates(
    ctx.store,
    surveys.map((s) => s.key),
    MAX_UPDATES_PER_JOB,
  );
  for (const survey of surveys) {
    const surveyId = survey.qualtricsSurveyId;
    if (!surveyId) continue;
    try {
      started += await startStampJobs(ctx, surveyId, candidates.get(survey.key) ?? []);
    } catch (error) {
      if (stopsRun(error)) throw error;
      ctx.tally.errors.push(`stamps for ${survey.key}: ${describeError(error)}`);
    }
  }
  await settleStampJobs(ctx, started > 0);
}

async function startStampJobs(
  ctx: RunContext,
  surveyId: string,
  invites: StampCandidate[],
): Promise<number> {
  const pairs = invites.flatMap((invite) => {
    const update = stampUpdate(invite);
    return update ? [{ invite, update }] : [];
  });
  if (pairs.length === 0) return 0;
  const chunks = chunkResponseUpdates(pairs.map((p) => p.update));
  let offset = 0;
  for (const chunk of chunks) {
    const ids = pairs.slice(offset, offset + chunk.length).map((p) => p.invite.id);
    offset += chunk.length;
    await ctx.keepLease();
    const { progressId } = await ctx.client.startUpdateResponses(surveyId, chunk, {
      ignoreMissingResponses: true,
    });
    await recordStampJob(ctx.store, {
      progressId,
      surveyId,
      runId: ctx.runId,
      inviteIds: ids,
      at: ctx.now(),
    });
  }
  return chunks.length;
}

/** Polls open stamp jobs (this run's and earlier ones') until they finish or the polls run out. */
async function settleStampJobs(ctx: RunContext, startedThisRun: boolean): Promise<void> {
  for (let round = 0; round < ctx.maxPollsPerJob; round++) {
    const open = await listOpenStampJobs(ctx.control);
    if (open.length === 0) return;
    if (round > 0 || startedThisRun) await ctx.sleep(ctx.pollIntervalMs);
    for (const job of open) {
      try {
        const progress = await ctx.client.getUpdateResponses(job.survey_id, job.progress_id);
        if (progress.complete) {
          ctx.tally.stamped += await completeStampJob(ctx.store, job.progress_id, ctx.now());
        } else if (progress.failed) {
          await failStampJob(ctx.store, job.progress_id, ctx.now());
          ctx.tally.errors.push(
            `update-responses job ${job.progress_id} failed; sent again next run`,
          );
        }
      } catch (error) {
        if (!(error instanceof QualtricsError) || error.status !== 404) throw error;
        await failStampJob(ctx.store, job.progress_id, ctx.now());
        ctx.tally.errors.push(
          `update-responses job ${job.progress_id} is gone; sent again next run`,
        );
      }
    }
  }
}
