/**
 * Stamping responses: for newly completed invites, update-responses jobs per survey write the
 * authoritative invite values (the ones invite-edge signed, rebuilt from the ledger) over the
 * response's embedded data, plus `invite_tampered` = "1" when the URL-supplied values differed or
 * `sig` did not verify, else "0", and `invite_duplicate` = "0". A duplicate response (a second
 * answer to a completed invite, response-matching.ts) gets the same values with
 * `invite_duplicate` = "1", in the same jobs. Re-sending a stamp is harmless (same values), so a job whose
 * outcome is unknown is simply sent again by a later run.
 *
 * Only what Qualtrics accepts is sent: a value over 1,000 characters (links issued before the
 * limit) is cut to it, with a notice. One bad update never blocks the others: a chunk Qualtrics
 * refuses is split in halves until the refused update stands alone; that invite is recorded as
 * refused, with Qualtrics' reason, and the rest are stamped. Jobs are settled in stamp-jobs.ts.
 */

import type { ResponseUpdate } from "../qualtrics/bodies";
import { chunkResponseUpdates, MAX_UPDATES_PER_JOB, withinValueLimit } from "../qualtrics/chunking";
import { QualtricsError } from "../qualtrics/errors";
import { signedValues } from "./response-matching";
import type { RunContext } from "./run-context";
import { settleStampJobs } from "./stamp-jobs";
import type { DuplicateStampCandidate } from "./storage/duplicate-rows";
import {
  recordStampJob,
  refuseStamps,
  type StampCandidate,
  type StampTarget,
  type SurveyStampCandidates,
  selectStampCandidates,
} from "./storage/stamps";

interface Stamp {
  target: StampTarget;
  update: ResponseUpdate;
}

/**
 * The stamp for one response (an invite's own, or a duplicate), its values cut to what Qualtrics
 * keeps; the fields that were cut.
 */
function stampFor(
  candidate: StampCandidate | DuplicateStampCandidate,
  duplicate: boolean,
): { stamp: Stamp; truncated: string[] } | null {
  const values = signedValues(candidate);
  if (values === null) return null;
  const embeddedData: Record<string, string> = {};
  const truncated: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const kept = withinValueLimit(value);
    embeddedData[name] = kept.value;
    if (kept.truncated) truncated.push(name);
  }
  embeddedData.invite_tampered = candidate.tampered === 1 ? "1" : "0";
  embeddedData.invite_duplicate = duplicate ? "1" : "0";
  const responseId = candidate.response_id;
  const update = { responseId, embeddedData, resetRecordedDate: false };
  return {
    stamp: { target: { inviteId: candidate.id, responseId, duplicate }, update },
    truncated,
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
      const none = { invites: [], duplicates: [] };
      started += await startStampJobs(
        ctx,
        survey.key,
        surveyId,
        candidates.get(survey.key) ?? none,
      );
    } catch (error) {
      ctx.fail(`stamps for ${survey.key}`, error);
    }
  }
  await settleStampJobs(ctx, started > 0);
}

async function startStampJobs(
  ctx: RunContext,
  survey: string,
  surveyId: string,
  candidates: SurveyStampCandidates,
): Promise<number> {
  const stamps: Stamp[] = [];
  const truncatedFields = new Set<string>();
  let truncatedStamps = 0;
  const all = [
    ...candidates.invites.map((c) => stampFor(c, false)),
    ...candidates.duplicates.map((c) => stampFor(c, true)),
  ];
  for (const made of all) {
    if (!made) continue;
    stamps.push(made.stamp);
    if (made.truncated.length > 0) truncatedStamps += 1;
    for (const name of made.truncated) truncatedFields.add(name);
  }
  if (truncatedStamps > 0) {
    ctx.tally.notices.push({
      survey,
      code: "value_truncated",
      responses: truncatedStamps,
      fields: [...truncatedFields].sort(),
    });
  }
  let jobs = 0;
  let offset = 0;
  for (const chunk of chunkResponseUpdates(stamps.map((s) => s.update))) {
    jobs += await sendStamps(ctx, surveyId, stamps.slice(offset, offset + chunk.length));
    offset += chunk.length;
  }
  return jobs;
}

/**
 * Starts one update job for `stamps`; when Qualtrics refuses the chunk, each half is sent on its
 * own, down to the single update it refuses, which is recorded as refused. Returns the jobs started.
 */
async function sendStamps(ctx: RunContext, surveyId: string, stamps: Stamp[]): Promise<number> {
  await ctx.keepLease();
  try {
    const { progressId } = await ctx.client.startUpdateResponses(
      surveyId,
      stamps.map((s) => s.update),
      { ignoreMissingResponses: true },
    );
    await recordStampJob(ctx.store, {
      progressId,
      surveyId,
      runId: ctx.runId,
      targets: stamps.map((s) => s.target),
      at: ctx.now(),
    });
    return 1;
  } catch (error) {
    if (!isRefusal(error)) throw error;
    const [only] = stamps;
    if (stamps.length === 1 && only) {
      const reason = error.reason ?? error.message;
      await refuseStamps(ctx.store, [{ target: only.target, reason }]);
      ctx.tally.refused.add({ inviteId: only.target.inviteId, phase: "stamp", reason });
      return 0;
    }
    const half = Math.ceil(stamps.length / 2);
    return (
      (await sendStamps(ctx, surveyId, stamps.slice(0, half))) +
      (await sendStamps(ctx, surveyId, stamps.slice(half)))
    );
  }
}

/** Qualtrics refused the body itself (400, 413, 422): something in it, not the survey or the token. */
function isRefusal(error: unknown): error is QualtricsError {
  return error instanceof QualtricsError && [400, 413, 422].includes(error.status);
}
