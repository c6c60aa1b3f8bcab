/**
 * Learning which invites were completed: per survey with a `qualtricsSurveyId`, a JSON response
 * export that continues where the last one ended (the continuation token lives in D1), read only
 * when some invite of the survey is opened and still waiting for its response. The file is read
 * as it downloads and its responses recorded batch by batch (response-matching.ts).
 *
 * One survey's trouble stays that survey's: an export Qualtrics failed or no longer knows is
 * forgotten and a new one started (once per run); a continuation token Qualtrics refuses is
 * dropped for an export from the newest response already read, with an overlap (completing is
 * idempotent, so nothing is lost or doubled); any other failure is recorded against the survey
 * and the run goes on with the next one.
 *
 * The completions are written before the export position moves on (storage/completions.ts), so a
 * run that stops halfway reads the same responses again next time.
 */
import { RESERVED_PARAMS, type Survey } from "../config/config";
import { log } from "../core/log";
import { QualtricsError } from "../qualtrics/errors";
import type { ResponseExportProgress } from "../qualtrics/replies";
import { createExportTally } from "./response-matching";
import { ReconcileError, type RunContext } from "./run-context";
import { finishExportRead, oldestOpenedAwaitingResponse } from "./storage/completions";
import { type ExportState, getExportState, saveExportProgress } from "./storage/exports";

/**
 * Invites opened longer ago than this no longer keep a survey's exports going: their completion
 * window is closed, and the retention job may remove them.
 */
export const AWAITING_RESPONSE_DAYS = 30;
/** The first export of a survey starts this long before its oldest waiting invite was opened. */
const FIRST_EXPORT_MARGIN_MS = 60 * 60 * 1000;
/** An export that replaces a refused continuation token re-reads this much before the newest response read. */
const RESTART_OVERLAP_MS = 60 * 60 * 1000;
/** Exports of one survey forgotten and started again within one run. */
const RESTARTS_PER_RUN = 1;

/**
 * The embedded data an export asks for: the fields the survey declares for its mode. Every mode
 * declares the survey's fields and invite-edge's own values; only the modes whose links carry a
 * signature declare `sig` (a web-service survey's values come from the data endpoint, unsigned).
 */
export function exportedFields(survey: Survey): string[] {
  const own = RESERVED_PARAMS.filter((name) => name !== "sig" || survey.mode !== "webservice");
  return [...survey.fields, ...own];
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
      ctx.fail(`completions for ${survey.key}`, error);
    }
  }
}

async function collectSurveyCompletions(
  ctx: RunContext,
  survey: Survey,
  surveyId: string,
  oldest: number | null,
): Promise<void> {
  const state = await getExportState(ctx.control, surveyId);
  let progressId = state?.progress_id ?? null;
  if (progressId === null && oldest === null) return; // nobody is between tap and response
  for (let restarts = 0; ; restarts++) {
    const startedNow = progressId === null;
    if (progressId === null) progressId = await startExport(ctx, surveyId, survey, state, oldest);
    const outcome = await awaitExport(ctx, surveyId, progressId, startedNow);
    if (outcome === "running") return; // the next run polls it
    if (outcome.gone === undefined) {
      await readExport(ctx, survey, surveyId, progressId, outcome.done);
      return;
    }
    await saveExportProgress(ctx.control, { surveyId, progressId: null, at: ctx.now() });
    if (restarts >= RESTARTS_PER_RUN || oldest === null) {
      throw new ReconcileError(`export ${progressId} ${outcome.gone}; the next run starts another`);
    }
    progressId = null;
  }
}

/**
 * Starts an export from the stored continuation token, or from a date when there is none or
 * Qualtrics refuses it. A flow that does not declare `sig` (Qualtrics may refuse an export naming
 * it) is read without it: its responses then carry no sig, which the sig_missing notice reports.
 */
async function startExport(
  ctx: RunContext,
  surveyId: string,
  survey: Survey,
  state: ExportState | null,
  oldest: number | null,
): Promise<string> {
  const fields = exportedFields(survey);
  const start = async (from: { startDate: Date } | { continuationToken: string }) => {
    try {
      return await ctx.client.startResponseExport(surveyId, { ...from, embeddedDataIds: fields });
    } catch (error) {
      if (!isBadRequest(error) || !fields.includes("sig")) throw error;
      const withoutSig = fields.filter((name) => name !== "sig");
      return ctx.client.startResponseExport(surveyId, { ...from, embeddedDataIds: withoutSig });
    }
  };
  const token = state?.continuation_token;
  const lastRead = state?.last_recorded_at ?? null;
  const from =
    lastRead === null
      ? (oldest ?? ctx.now()) - FIRST_EXPORT_MARGIN_MS
      : lastRead - RESTART_OVERLAP_MS;
  let forgetToken = false;
  let progressId: string;
  if (token) {
    try {
      ({ progressId } = await start({ continuationToken: token }));
    } catch (error) {
      if (!isBadRequest(error)) throw error;
      // Refused (expired, or never valid): never send it again; read from the last response seen.
      log("reconcile_continuation_refused", { survey: survey.key, error: error.message });
      forgetToken = true;
      ({ progressId } = await start({ startDate: new Date(from) }));
    }
  } else {
    ({ progressId } = await start({ startDate: new Date(from) }));
  }
  await saveExportProgress(ctx.control, { surveyId, progressId, at: ctx.now(), forgetToken });
  return progressId;
}

type ExportOutcome =
  | "running"
  | { gone: undefined; done: ResponseExportProgress & { fileId: string } }
  | { gone: string; done?: undefined };

/** Polls an export until it completes, fails or this run's polls for it are spent. */
async function awaitExport(
  ctx: RunContext,
  surveyId: string,
  progressId: string,
  startedNow: boolean,
): Promise<ExportOutcome> {
  for (let round = 0; round < ctx.maxPollsPerJob; round++) {
    if (round > 0 || startedNow) await ctx.sleep(ctx.pollIntervalMs);
    let progress: ResponseExportProgress;
    try {
      progress = await ctx.client.getResponseExport(surveyId, progressId);
    } catch (error) {
      if (isGone(error)) return { gone: `is unknown to Qualtrics (${error.message})` };
      throw error;
    }
    if (progress.failed) return { gone: "failed at Qualtrics" };
    if (progress.complete) {
      const { fileId } = progress;
      if (!fileId) return { gone: "completed without a fileId" };
      return { gone: undefined, done: { ...progress, fileId } };
    }
  }
  return "running";
}

/** Reads the export's file batch by batch, then moves the survey's export position on. */
async function readExport(
  ctx: RunContext,
  survey: Survey,
  surveyId: string,
  progressId: string,
  done: ResponseExportProgress & { fileId: string },
): Promise<void> {
  const tally = createExportTally(ctx, survey);
  try {
    await ctx.client.readResponseExportFile(surveyId, done.fileId, {
      embeddedDataIds: exportedFields(survey),
      onResponses: tally.add,
    });
  } catch (error) {
    // The file is gone or cannot be read: a new export writes a new one.
    if (!isGone(error) && !isUnreadable(error)) throw error;
    await saveExportProgress(ctx.control, { surveyId, progressId: null, at: ctx.now() });
    throw new ReconcileError(
      `export ${progressId}: its file ${error.message}; the next run starts another export`,
      { cause: error },
    );
  }
  const read = tally.finish();
  await finishExportRead(ctx.store, {
    surveyId,
    continuationToken: done.continuationToken ?? null,
    ...read,
    at: ctx.now(),
  });
}

const isBadRequest = (error: unknown): error is QualtricsError =>
  error instanceof QualtricsError && error.status === 400;

/** Qualtrics no longer knows it (an export or file expires): forget it. */
const isGone = (error: unknown): error is QualtricsError =>
  error instanceof QualtricsError && error.status === 404;

const isUnreadable = (error: unknown): error is QualtricsError =>
  error instanceof QualtricsError && error.errorCode === "invalid_response";
