// @ts-check
/**
 * Response exports, an asynchronous job: `POST /surveys/{id}/export-responses` (JSON, uncompressed,
 * from a start date or a continuation token), its progress (100% after a few polls, then a
 * `fileId` and, when asked for, a continuation token that starts after this export's snapshot), and
 * the file, which is the raw file rather than an envelope.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { ApiError, badRequest, isObject, parseJsonBody, percent, qid } from "./envelopes.js";
import { pathPattern } from "./route.js";
import { requireSurvey, surveyOf } from "./surveys.js";

/**
 * @typedef {import("./state.js").FakeContext} FakeContext
 * @typedef {import("./state.js").ExportJob} ExportJob
 */

/** @param {Record<string, unknown>} body */
function validateExportRequest(body) {
  if (body.format !== "json")
    badRequest('format must be "json" (the only format this fake serves)');
  // Qualtrics zips exports unless told not to; the fake does not build zips, so it insists.
  if (body.compress !== false)
    badRequest("compress must be false: this fake does not produce zip files");
  const { startDate, endDate, continuationToken, allowContinuation, embeddedDataIds } = body;
  if (continuationToken !== undefined && (startDate !== undefined || endDate !== undefined)) {
    badRequest("continuationToken cannot be combined with startDate or endDate");
  }
  for (const [name, value] of /** @type {[string, unknown][]} */ ([
    ["startDate", startDate],
    ["endDate", endDate],
  ])) {
    if (value !== undefined && (typeof value !== "string" || Number.isNaN(Date.parse(value)))) {
      badRequest(`${name} must be an ISO 8601 date`);
    }
  }
  if (allowContinuation !== undefined && typeof allowContinuation !== "boolean") {
    badRequest("allowContinuation must be a boolean");
  }
  if (
    embeddedDataIds !== undefined &&
    !(Array.isArray(embeddedDataIds) && embeddedDataIds.every((x) => typeof x === "string"))
  ) {
    badRequest("embeddedDataIds must be an array of strings");
  }
  if (
    body.exportResponsesInProgress !== undefined &&
    typeof body.exportResponsesInProgress !== "boolean"
  ) {
    badRequest("exportResponsesInProgress must be a boolean");
  }
}

/** @param {FakeContext} ctx @param {string} surveyId @param {Buffer} raw */
function startResponseExport(ctx, surveyId, raw) {
  const { state } = ctx;
  const survey = requireSurvey(ctx, surveyId);
  const body = parseJsonBody(raw, ctx.maxBodyBytes, false);
  if (!isObject(body)) badRequest("Body must be a JSON object");
  validateExportRequest(body);
  const { startDate, endDate, continuationToken, allowContinuation, embeddedDataIds } = body;
  let afterSeq = 0;
  if (continuationToken !== undefined) {
    const pos =
      typeof continuationToken === "string"
        ? state.continuationTokens[continuationToken]
        : undefined;
    if (!pos || pos.surveyId !== surveyId) badRequest("Invalid continuationToken");
    afterSeq = pos.seq;
  }
  const from = typeof startDate === "string" ? Date.parse(startDate) : -Infinity;
  const to = typeof endDate === "string" ? Date.parse(endDate) : Infinity;
  const selected = survey.responses.filter((r) => {
    const recorded = Date.parse(String(r.values.recordedDate));
    return r.seq > afterSeq && recorded >= from && recorded < to;
  });
  const progressId = qid("ES_");
  state.exports[progressId] = {
    progressId,
    surveyId,
    polls: 0,
    request: body,
    responseIds: selected.map((r) => r.responseId),
    snapshotSeq: survey.responses.reduce((m, r) => Math.max(m, r.seq), afterSeq),
    embeddedDataIds: /** @type {string[] | undefined} */ (embeddedDataIds) ?? null,
    allowContinuation: allowContinuation === true,
    fileId: null,
    continuationToken: null,
  };
  return { progressId, percentComplete: 0, status: "inProgress" };
}

/** @param {FakeContext} ctx @param {string} surveyId @param {string} progressId */
function responseExportProgress(ctx, surveyId, progressId) {
  const { state } = ctx;
  const job = state.exports[progressId];
  if (!job || job.surveyId !== surveyId)
    throw new ApiError(404, "NOT_FOUND", `Export ${progressId} not found`);
  job.polls += 1;
  const pct = percent(job.polls, state.pollsToComplete);
  if (pct < 100) return { percentComplete: pct, status: "inProgress" };
  if (!job.fileId) {
    job.fileId = `${randomUUID()}-def`;
    state.files[job.fileId] = { surveyId, progressId, responses: renderExport(ctx, job) };
    if (job.allowContinuation) {
      job.continuationToken = randomBytes(18).toString("base64url");
      state.continuationTokens[job.continuationToken] = { surveyId, seq: job.snapshotSeq };
    }
  }
  /** @type {Record<string, unknown>} */
  const result = { percentComplete: 100, status: "complete", fileId: job.fileId };
  if (job.continuationToken) result.continuationToken = job.continuationToken;
  return result;
}

/**
 * Responses as the JSON export shows them. Embedded data goes inside `values` for some responses
 * and beside it for others, because the contract leaves that open and clients must read both.
 * @param {FakeContext} ctx @param {ExportJob} job
 */
function renderExport(ctx, job) {
  const survey = surveyOf(ctx, job.surveyId);
  const wanted = new Set(job.responseIds);
  return survey.responses
    .filter((r) => wanted.has(r.responseId))
    .map((r) => {
      const embedded = Object.fromEntries(
        Object.entries(r.embeddedData).filter(
          ([k]) => !job.embeddedDataIds || job.embeddedDataIds.includes(k),
        ),
      );
      /** @type {Record<string, unknown>} */
      const out = {
        responseId: r.responseId,
        values: r.placement === "values" ? { ...r.values, ...embedded } : { ...r.values },
        labels: { finished: r.values.finished ? "True" : "False", status: "IP Address" },
        displayedFields: [],
        displayedValues: {},
      };
      if (r.placement === "beside") {
        for (const [k, v] of Object.entries(embedded)) if (!(k in out)) out[k] = v;
      }
      return out;
    });
}

/** @param {FakeContext} ctx @param {string} surveyId @param {string} fileId */
function responseExportFile(ctx, surveyId, fileId) {
  const file = ctx.state.files[fileId];
  if (!file || file.surveyId !== surveyId)
    throw new ApiError(404, "NOT_FOUND", `File ${fileId} not found`);
  return { responses: file.responses };
}

const EXPORTS = "/surveys/:surveyId/export-responses";
const READ = ["read:survey_responses"];

/** @type {import("./route.js").ApiRoute[]} */
export const responseExportRoutes = [
  {
    method: "POST",
    pattern: pathPattern(EXPORTS),
    endpoint: "startResponseExport",
    scopes: READ,
    perMinute: 100,
    run: (ctx, { params, body }) => startResponseExport(ctx, params[0], body),
  },
  {
    method: "GET",
    pattern: pathPattern(`${EXPORTS}/:fileId/file`),
    endpoint: "getResponseExportFile",
    scopes: READ,
    perMinute: 100,
    raw: true,
    run: (ctx, { params }) => responseExportFile(ctx, params[0], params[1]),
  },
  {
    method: "GET",
    pattern: pathPattern(`${EXPORTS}/:progressId`),
    endpoint: "getResponseExport",
    scopes: READ,
    perMinute: 1000,
    run: (ctx, { params }) => responseExportProgress(ctx, params[0], params[1]),
  },
];
