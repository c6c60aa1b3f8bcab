/**
 * Learning which invites were completed: per survey with a `qualtricsSurveyId`, a JSON response
 * export that continues where the last one ended (the continuation token lives in D1), read only
 * when some invite of the survey is opened and still waiting for its response. A finished response
 * whose `inv` names an invite of the survey completes it, once, and is checked against the values
 * invite-edge signed.
 *
 * The completions are written before the export position moves on (storage/completions.ts), so a
 * run that stops halfway reads the same responses again next time; completing is idempotent.
 */
import { type Config, RESERVED_PARAMS, type Survey } from "../config/config";
import { describeError } from "../core/log";
import { inviteValues, linkValueSourceFromRow } from "../links";
import { QualtricsError } from "../qualtrics/errors";
import type { ExportedResponse } from "../qualtrics/exported-responses";
import type { ResponseExportProgress } from "../qualtrics/replies";
import type { Store } from "../store/store";
import { isInviteId } from "../tokens/ids";
import { ReconcileError, type RunContext, stopsRun } from "./run-context";
import type { AwaitingInvite, Completion } from "./storage/completion-rows";
import {
  findInvitesAwaitingCompletion,
  oldestOpenedAwaitingResponse,
  recordCompletions,
} from "./storage/completions";
import { getExportState, saveExportProgress } from "./storage/exports";
import { checkResponse } from "./tamper-check";

/** Invites opened longer ago than this no longer keep a survey's exports going. */
const AWAITING_RESPONSE_DAYS = 30;
/** The first export of a survey starts this long before its oldest waiting invite was opened. */
const FIRST_EXPORT_MARGIN_MS = 60 * 60 * 1000;

/** The embedded data an export must carry: the survey's fields plus invite-edge's own values. */
function exportedFields(survey: Survey): string[] {
  return [...survey.fields, ...RESERVED_PARAMS];
}

/** The values invite-edge signed for an invite, rebuilt from its ledger row (null once purged). */
export function signedValues(row: AwaitingInvite): Record<string, string> | null {
  const source = linkValueSourceFromRow(row);
  return source ? inviteValues(row.id, source) : null;
}

export async function collectCompletions(ctx: RunContext): Promise<void> {
  const surveys = [...ctx.config.surveys.values()].filter((s) => s.qualtricsSurveyId);
  // Who is between tap and response, for every survey at once: one query per shard.
  const since = ctx.now() - AWAITING_RESPONSE_DAYS * 86_400_000;
  const awaiting = await oldestOpenedAwaitingResponse(
    ctx.store,
    surveys.map((s) => s.key),
    since,
  );
  for (const survey of surveys) {
    if (!survey.qualtricsSurveyId) continue;
    try {
      await collectSurveyCompletions(
        ctx,
        survey,
        survey.qualtricsSurveyId,
        awaiting.get(survey.key) ?? null,
      );
    } catch (error) {
      if (stopsRun(error)) throw error;
      ctx.tally.errors.push(`completions for ${survey.key}: ${describeError(error)}`);
    }
  }
}

async function collectSurveyCompletions(
  ctx: RunContext,
  survey: Survey,
  surveyId: string,
  oldest: number | null,
): Promise<void> {
  const { control, client } = ctx;
  const fields = exportedFields(survey);
  const state = await getExportState(control, surveyId);
  let progressId = state?.progress_id ?? null;
  let startedNow = false;
  if (progressId === null) {
    if (oldest === null) return; // nobody is between tap and response: nothing to learn
    const token = state?.continuation_token;
    const started = await client.startResponseExport(
      surveyId,
      token
        ? { continuationToken: token, embeddedDataIds: fields }
        : { startDate: new Date(oldest - FIRST_EXPORT_MARGIN_MS), embeddedDataIds: fields },
    );
    progressId = started.progressId;
    await saveExportProgress(control, surveyId, progressId, ctx.now());
    startedNow = true;
  }

  let done: ResponseExportProgress | undefined;
  for (let round = 0; round < ctx.maxPollsPerJob && !done; round++) {
    if (round > 0 || startedNow) await ctx.sleep(ctx.pollIntervalMs);
    const progress = await forgetExportIfGone(ctx, surveyId, progressId, () =>
      client.getResponseExport(surveyId, progressId ?? ""),
    );
    if (progress.failed) {
      await saveExportProgress(control, surveyId, null, ctx.now());
      throw new ReconcileError(
        `export ${progressId} failed at Qualtrics; the next run starts another`,
      );
    }
    if (progress.complete) done = progress;
  }
  if (!done) return; // still running: the next run polls it
  const fileId = done.fileId;
  if (!fileId) {
    await saveExportProgress(control, surveyId, null, ctx.now());
    throw new ReconcileError(`export ${progressId} completed without a fileId`);
  }
  const responses = await forgetExportIfGone(ctx, surveyId, progressId, () =>
    client.getResponseExportFile(surveyId, fileId, { embeddedDataIds: fields }),
  );
  const { completions, withoutSig, missingFields } = await matchResponses(
    ctx.config,
    ctx.store,
    survey,
    responses,
    ctx.now(),
  );
  const completed = await recordCompletions(ctx.store, {
    survey: survey.key,
    surveyId,
    completions,
    continuationToken: done.continuationToken ?? null,
    responsesRead: responses.length,
    at: ctx.now(),
  });
  const newly = new Set(completed);
  ctx.tally.completions += newly.size;
  ctx.tally.tampered += completions.filter((c) => newly.has(c.id) && c.tampered === 1).length;
  const unsigned = [...withoutSig].filter((id) => newly.has(id)).length;
  if (unsigned > 0) {
    ctx.tally.notices.push({ survey: survey.key, code: "sig_missing", responses: unsigned });
  }
  const lacking = [...missingFields].filter(([id]) => newly.has(id));
  if (lacking.length > 0) {
    const fields = [...new Set(lacking.flatMap(([, names]) => names))].sort();
    ctx.tally.notices.push({
      survey: survey.key,
      code: "field_missing",
      responses: lacking.length,
      fields,
    });
  }
}

/** A 404 means Qualtrics no longer knows the export (expired): forget it, start another next run. */
async function forgetExportIfGone<T>(
  ctx: RunContext,
  surveyId: string,
  progressId: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof QualtricsError) || error.status !== 404) throw error;
    await saveExportProgress(ctx.control, surveyId, null, ctx.now());
    throw new ReconcileError(
      `export ${progressId} is unknown to Qualtrics (${error.message}); the next run starts another`,
    );
  }
}

/**
 * Finished responses that name an invite of this survey still waiting, first response wins, each
 * checked against the issued values; `withoutSig` names the invites whose response had no `sig`,
 * `missingFields` the issued fields each invite's response lacks (when it lacks any).
 */
async function matchResponses(
  config: Config,
  store: Store,
  survey: Survey,
  responses: ExportedResponse[],
  now: number,
): Promise<{
  completions: Completion[];
  withoutSig: Set<string>;
  missingFields: Map<string, string[]>;
}> {
  const byInvite = new Map<string, { response: ExportedResponse; at: number }>();
  for (const response of responses) {
    const inv = response.embeddedData.inv;
    if (!response.finished || inv === undefined || !isInviteId(inv)) continue;
    const recorded = response.recordedDate ? Date.parse(response.recordedDate) : Number.NaN;
    const at = Number.isNaN(recorded) ? now : recorded;
    const seen = byInvite.get(inv);
    if (!seen || at < seen.at) byInvite.set(inv, { response, at });
  }
  const rows = await findInvitesAwaitingCompletion(store, survey.key, [...byInvite.keys()]);
  const withoutSig = new Set<string>();
  const missingFields = new Map<string, string[]>();
  const completions = await Promise.all(
    rows.map(async (row): Promise<Completion> => {
      const match = byInvite.get(row.id);
      if (!match) throw new Error("unreachable: rows are looked up by these ids");
      const { responseId, embeddedData } = match.response;
      const signed = signedValues(row);
      if (signed === null) return { id: row.id, responseId, at: match.at, tampered: null };
      const check = await checkResponse(config, survey, signed, embeddedData);
      if (check.sigMissing) withoutSig.add(row.id);
      if (check.missingFields.length > 0) missingFields.set(row.id, check.missingFields);
      return { id: row.id, responseId, at: match.at, tampered: check.tampered ? 1 : 0 };
    }),
  );
  return { completions, withoutSig, missingFields };
}
