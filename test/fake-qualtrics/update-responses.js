// @ts-check
/**
 * Response updates, an asynchronous job: `POST /surveys/{id}/update-responses` (≤250,000 updates,
 * under 5 MB: exactly 5 MB is already too much; values are strings) and its progress. Jobs for one
 * survey queue behind each other: when a job reaches 100%, it and every earlier job of the survey
 * still in progress are applied, oldest first. A missing response fails the job unless
 * `ignoreMissingResponses` is true.
 */
import {
  ApiError,
  badRequest,
  isObject,
  isStringRecord,
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
  updates.forEach((u, i) => {
    if (!isObject(u)) badRequest(`updates[${i}] must be an object`);
    if (typeof u.responseId !== "string" || u.responseId === "")
      badRequest(`updates[${i}].responseId is required`);
    if (!isStringRecord(u.embeddedData))
      badRequest(`updates[${i}].embeddedData values must be strings`);
    if (u.resetRecordedDate !== undefined && typeof u.resetRecordedDate !== "boolean") {
      badRequest(`updates[${i}].resetRecordedDate must be a boolean`);
    }
  });
  const progressId = qid("ES_");
  ctx.state.updateJobs[progressId] = {
    progressId,
    surveyId,
    polls: 0,
    updates: /** @type {UpdateJob["updates"]} */ (updates),
    ignoreMissingResponses: ignoreMissingResponses === true,
    status: "inProgress",
    missingResponseIds: [],
    seq: ctx.nextSeq(),
  };
  return { progressId, percentComplete: 0, status: "inProgress" };
}

/** @param {FakeContext} ctx @param {string} surveyId @param {string} progressId */
function updateResponsesProgress(ctx, surveyId, progressId) {
  const { state } = ctx;
  const job = state.updateJobs[progressId];
  if (!job || job.surveyId !== surveyId)
    throw new ApiError(404, "NOT_FOUND", `Job ${progressId} not found`);
  job.polls += 1;
  const pct = percent(job.polls, state.pollsToComplete);
  if (pct < 100) return { percentComplete: pct, status: "inProgress" };
  const earlier = Object.values(state.updateJobs)
    .filter((j) => j.surveyId === surveyId && j.status === "inProgress" && j.seq <= job.seq)
    .sort((a, b) => a.seq - b.seq);
  for (const j of earlier) applyUpdateJob(ctx, j);
  return { percentComplete: 100, status: job.status };
}

/** @param {FakeContext} ctx @param {UpdateJob} job */
function applyUpdateJob(ctx, job) {
  const survey = surveyOf(ctx, job.surveyId);
  const byId = new Map(survey.responses.map((r) => [r.responseId, r]));
  job.missingResponseIds = job.updates
    .filter((u) => !byId.has(u.responseId))
    .map((u) => u.responseId);
  if (job.missingResponseIds.length > 0 && !job.ignoreMissingResponses) {
    job.status = "failed";
    return;
  }
  const at = new Date(ctx.now()).toISOString();
  for (const u of job.updates) {
    const r = byId.get(u.responseId);
    if (!r) continue;
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
const WRITE = ["write:survey_responses"];

/** @type {import("./route.js").ApiRoute[]} */
export const updateResponsesRoutes = [
  {
    method: "POST",
    pattern: pathPattern(UPDATES),
    endpoint: "startUpdateResponses",
    scopes: WRITE,
    perMinute: 10,
    run: (ctx, { params, body }) => startUpdateResponses(ctx, params[0], body),
  },
  {
    method: "GET",
    pattern: pathPattern(`${UPDATES}/:progressId`),
    endpoint: "getUpdateResponses",
    scopes: WRITE,
    run: (ctx, { params }) => updateResponsesProgress(ctx, params[0], params[1]),
  },
];
