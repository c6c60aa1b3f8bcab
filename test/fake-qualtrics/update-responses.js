// @ts-check
/**
 * Response updates, an asynchronous job: `POST /surveys/{id}/update-responses` (≤250,000 updates,
 * under 5 MB: exactly 5 MB is already too much; values are strings of at most 1,000 characters;
 * a response id at most once per job) and its progress. Jobs for one survey run one at a time, in
 * the order they were started: a job behind another reports `queued` until its turn. The fake's
 * time is its polls: each poll of any job of a survey moves the survey's running job on, so a job
 * nobody polls any more still finishes once later jobs are polled, as Qualtrics would finish it.
 * A job is applied at 100%. Its progress carries `errorCount`, `errors`, `warningCount`
 * and `warnings`: a missing response fails the job unless `ignoreMissingResponses` is true (then
 * it is dropped silently); a field the survey flow does not declare (once declared) is written
 * with a warning; a response a test marked refused (`refuseUpdates`) is refused at the start (a
 * 400 naming it) or reported as an error of its job and left as it was.
 */
import {
  ApiError,
  badRequest,
  isObject,
  isStringRecord,
  MAX_VALUE_CHARACTERS,
  overlongValue,
  parseJsonBody,
  percent,
  qid,
} from "./envelopes.js";
import { pathPattern } from "./route.js";
import { requireSurvey, surveyOf } from "./surveys.js";

/**
 * @typedef {import("./state.js").FakeContext} FakeContext
 * @typedef {import("./state.js").StoredResponse} StoredResponse
 * @typedef {import("./state.js").UpdateJob} UpdateJob
 */

const MAX_UPDATES = 250_000;

/** @param {FakeContext} ctx @param {unknown[]} updates */
function validateUpdates(ctx, updates) {
  const seen = new Set();
  updates.forEach((u, i) => {
    if (!isObject(u)) badRequest(`updates[${i}] must be an object`);
    if (typeof u.responseId !== "string" || u.responseId === "")
      badRequest(`updates[${i}].responseId is required`);
    if (seen.has(u.responseId)) badRequest(`updates[${i}].responseId repeats an earlier update`);
    seen.add(u.responseId);
    if (!isStringRecord(u.embeddedData))
      badRequest(`updates[${i}].embeddedData values must be strings`);
    const long = overlongValue(u.embeddedData);
    if (long !== undefined) {
      badRequest(`updates[${i}].embeddedData.${long} is over ${MAX_VALUE_CHARACTERS} characters`);
    }
    if (u.resetRecordedDate !== undefined && typeof u.resetRecordedDate !== "boolean") {
      badRequest(`updates[${i}].resetRecordedDate must be a boolean`);
    }
    const refused = ctx.state.refusedUpdates[u.responseId];
    if (refused?.at === "start") badRequest(`updates[${i}]: ${refused.reason}`);
  });
}

/** @param {FakeContext} ctx @param {string} surveyId @param {Buffer} raw */
function startUpdateResponses(ctx, surveyId, raw) {
  requireSurvey(ctx, surveyId);
  const body = parseJsonBody(raw, ctx.maxBodyBytes, true);
  if (!isObject(body)) badRequest("Body must be a JSON object");
  const { updates, ignoreMissingResponses } = body;
  if (!Array.isArray(updates) || updates.length === 0)
    badRequest("updates must be a non-empty array");
  if (updates.length > MAX_UPDATES)
    badRequest(`At most ${MAX_UPDATES} updates per job; got ${updates.length}`);
  if (ignoreMissingResponses !== undefined && typeof ignoreMissingResponses !== "boolean") {
    badRequest("ignoreMissingResponses must be a boolean");
  }
  validateUpdates(ctx, updates);
  const progressId = qid("ES_");
  ctx.state.updateJobs[progressId] = {
    progressId,
    surveyId,
    polls: 0,
    updates: /** @type {UpdateJob["updates"]} */ (updates),
    ignoreMissingResponses: ignoreMissingResponses === true,
    status: "queued",
    missingResponseIds: [],
    errors: [],
    warnings: [],
    seq: ctx.nextSeq(),
  };
  return { progressId, percentComplete: 0, status: "queued" };
}

/** @param {UpdateJob} job */
function progressOf(job) {
  return {
    percentComplete: job.status === "complete" || job.status === "failed" ? 100 : 0,
    status: job.status,
    errorCount: job.errors.length,
    errors: job.errors,
    warningCount: job.warnings.length,
    warnings: job.warnings,
  };
}

/** @param {FakeContext} ctx @param {string} surveyId @param {string} progressId */
function updateResponsesProgress(ctx, surveyId, progressId) {
  const { state } = ctx;
  const job = state.updateJobs[progressId];
  if (!job || job.surveyId !== surveyId)
    throw new ApiError(404, "NOT_FOUND", `Job ${progressId} not found`);
  if (job.status === "complete" || job.status === "failed") return progressOf(job);
  const running = Object.values(state.updateJobs)
    .filter((j) => j.surveyId === surveyId && (j.status === "queued" || j.status === "inProgress"))
    .sort((a, b) => a.seq - b.seq)[0];
  if (running) {
    running.status = "inProgress";
    running.polls += 1;
    if (percent(running.polls, state.pollsToComplete) >= 100) applyUpdateJob(ctx, running);
  }
  const progress = progressOf(job);
  if (job.status === "inProgress") {
    progress.percentComplete = percent(job.polls, state.pollsToComplete);
  }
  return progress;
}

/** @param {FakeContext} ctx @param {UpdateJob} job */
function applyUpdateJob(ctx, job) {
  const survey = surveyOf(ctx, job.surveyId);
  const byId = new Map(survey.responses.map((r) => [r.responseId, r]));
  job.missingResponseIds = job.updates
    .filter((u) => !byId.has(u.responseId))
    .map((u) => u.responseId);
  if (job.missingResponseIds.length > 0 && !job.ignoreMissingResponses) {
    job.errors = job.missingResponseIds.map((responseId) => ({
      responseId,
      message: "Response not found",
    }));
    job.status = "failed";
    return;
  }
  const at = new Date(ctx.now()).toISOString();
  for (const u of job.updates) {
    const r = byId.get(u.responseId);
    if (!r) continue;
    const refused = ctx.state.refusedUpdates[u.responseId];
    if (refused) {
      job.errors.push({ responseId: u.responseId, message: refused.reason });
      continue;
    }
    const flow = survey.flow;
    const undeclared =
      flow === null ? [] : Object.keys(u.embeddedData).filter((k) => !flow.includes(k));
    if (undeclared.length > 0) {
      job.warnings.push({
        responseId: u.responseId,
        message: `Embedded data ${undeclared.join(", ")} not declared in the survey flow; stored anyway`,
      });
    }
    applyEmbeddedData(r, u.embeddedData, u.resetRecordedDate !== false, at);
    ctx.state.updatesApplied.push({
      jobId: job.progressId,
      surveyId: job.surveyId,
      responseId: u.responseId,
      embeddedData: { ...u.embeddedData },
      at,
    });
  }
  job.status = "complete";
}

/**
 * Writes embedded data onto a stored response; unless told not to, its recorded date moves to now.
 * @param {StoredResponse} r
 * @param {Record<string, string>} embeddedData
 * @param {boolean} resetRecordedDate
 * @param {string} at
 */
export function applyEmbeddedData(r, embeddedData, resetRecordedDate, at) {
  Object.assign(r.embeddedData, embeddedData);
  if (resetRecordedDate) {
    r.values.recordedDate = at;
    r.values._recordedDate = Date.parse(at);
  }
}

const UPDATES = "/surveys/:surveyId/update-responses";

/** @type {import("./route.js").ApiRoute[]} */
export const updateResponsesRoutes = [
  {
    method: "POST",
    pattern: pathPattern(UPDATES),
    endpoint: "startUpdateResponses",
    perMinute: 10,
    run: (ctx, { params, body }) => startUpdateResponses(ctx, params[0], body),
  },
  {
    method: "GET",
    pattern: pathPattern(`${UPDATES}/:progressId`),
    endpoint: "getUpdateResponses",
    perMinute: 1000,
    run: (ctx, { params }) => updateResponsesProgress(ctx, params[0], params[1]),
  },
];
