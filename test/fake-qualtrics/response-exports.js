// @ts-check
/**
 * Response exports, an asynchronous job: `POST /surveys/{id}/export-responses` (JSON, uncompressed,
 * from a start date or a continuation token), its progress (100% after a few polls, then a
 * `fileId` and, when asked for, a continuation token that starts after this export's snapshot), and
 * the file, which is the raw file rather than an envelope.
 *
 * As strict as the record of Qualtrics: `embeddedDataIds` naming a field the survey flow does not
 * declare is refused (when the flow is declared), as is an unknown question id; a continuation
 * token is refused once it expired (`continuationTokenTtlMs`); progress replies carry `null` for
 * `fileId` and `continuationToken` until they exist; a failed export (`failFirstExport`) answers
 * the documented `{fileId: null, percentComplete: 100, status: "failed"}`. Only the questions and
 * metadata asked for (`questionIds`, `surveyMetadataIds`) are in the file.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { ApiError, badRequest, isObject, parseJsonBody, percent, qid } from "./envelopes.js";
import { pathPattern } from "./route.js";
import { requireSurvey, surveyOf } from "./surveys.js";

/**
 * @typedef {import("./state.js").FakeContext} FakeContext
 * @typedef {import("./state.js").ExportJob} ExportJob
 */

/** Response metadata an export may carry (`surveyMetadataIds`); everything else in values is a question. */
const METADATA = new Set([
  "startDate",
  "endDate",
  "status",
  "ipAddress",
  "progress",
  "duration",
  "finished",
  "recordedDate",
  "_recordId",
  "locationLatitude",
  "locationLongitude",
  "recipientLastName",
  "recipientFirstName",
  "recipientEmail",
  "externalDataReference",
  "distributionChannel",
  "userLanguage",
]);

/** @param {unknown} value */
const isStringArray = (value) => Array.isArray(value) && value.every((x) => typeof x === "string");

/** @param {Record<string, unknown>} body */
function validateExportRequest(body) {
  if (body.format !== "json")
    badRequest('format must be "json" (the only format this fake serves)');
  // Qualtrics zips exports unless told not to; the fake does not build zips, so it insists.
  if (body.compress !== false)
    badRequest("compress must be false: this fake does not produce zip files");
  const { startDate, endDate, continuationToken, allowContinuation } = body;
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
  for (const name of ["embeddedDataIds", "questionIds", "surveyMetadataIds"]) {
    if (body[name] !== undefined && !isStringArray(body[name])) {
      badRequest(`${name} must be an array of strings`);
    }
  }
  if (
    body.exportResponsesInProgress !== undefined &&
    typeof body.exportResponsesInProgress !== "boolean"
  ) {
    badRequest("exportResponsesInProgress must be a boolean");
  }
}

/**
 * Refuses what the survey does not have: embedded data its flow does not declare (once declared),
 * question ids it does not have, metadata that does not exist.
 * @param {ReturnType<typeof surveyOf>} survey @param {Record<string, unknown>} body
 */
function checkAgainstSurvey(survey, body) {
  const flow = survey.flow;
  const undeclared =
    flow === null ? [] : listOf(body.embeddedDataIds).filter((f) => !flow.includes(f));
  if (undeclared.length > 0) {
    badRequest(`embeddedDataIds: ${undeclared.join(", ")} is not embedded data of this survey`);
  }
  const questions = new Set(
    survey.responses.flatMap((r) => Object.keys(r.values).filter((k) => /^QID\d/.test(k))),
  );
  const unknownQuestions = listOf(body.questionIds).filter((q) => !questions.has(q));
  if (unknownQuestions.length > 0)
    badRequest(`questionIds: unknown ${unknownQuestions.join(", ")}`);
  const unknownMetadata = listOf(body.surveyMetadataIds).filter((m) => !METADATA.has(m));
  if (unknownMetadata.length > 0) {
    badRequest(`surveyMetadataIds: unknown ${unknownMetadata.join(", ")}`);
  }
}

/** A list of strings from a validated request field (absent: none). @param {unknown} value @returns {string[]} */
function listOf(value) {
  return isStringArray(value) ? /** @type {string[]} */ (value) : [];
}

/** @param {FakeContext} ctx @param {string} surveyId @param {unknown} token */
function continuationPosition(ctx, surveyId, token) {
  const pos = typeof token === "string" ? ctx.state.continuationTokens[token] : undefined;
  if (!pos || pos.surveyId !== surveyId) badRequest("Invalid continuationToken");
  const ttl = ctx.state.continuationTokenTtlMs;
  if (pos.expired || (ttl !== null && ctx.now() - pos.issuedAt >= ttl)) {
    badRequest("continuationToken has expired");
  }
  return pos.seq;
}

/** @param {FakeContext} ctx @param {string} surveyId @param {Buffer} raw */
function startResponseExport(ctx, surveyId, raw) {
  const { state } = ctx;
  const survey = requireSurvey(ctx, surveyId);
  const body = parseJsonBody(raw, ctx.maxBodyBytes, false);
  if (!isObject(body)) badRequest("Body must be a JSON object");
  validateExportRequest(body);
  checkAgainstSurvey(survey, body);
  const { startDate, endDate, continuationToken, allowContinuation } = body;
  const afterSeq =
    continuationToken === undefined ? 0 : continuationPosition(ctx, surveyId, continuationToken);
  const from = typeof startDate === "string" ? Date.parse(startDate) : -Infinity;
  const to = typeof endDate === "string" ? Date.parse(endDate) : Infinity;
  const selected = survey.responses.filter((r) => {
    const recorded = Date.parse(String(r.values.recordedDate));
    return r.seq > afterSeq && recorded >= from && recorded < to;
  });
  const first = !state.exportedSurveys.includes(surveyId);
  if (first) state.exportedSurveys.push(surveyId);
  const progressId = qid("ES_");
  state.exports[progressId] = {
    progressId,
    surveyId,
    polls: 0,
    request: body,
    responseIds: selected.map((r) => r.responseId),
    snapshotSeq: survey.responses.reduce((m, r) => Math.max(m, r.seq), afterSeq),
    embeddedDataIds: body.embeddedDataIds === undefined ? null : listOf(body.embeddedDataIds),
    questionIds: body.questionIds === undefined ? null : listOf(body.questionIds),
    surveyMetadataIds: body.surveyMetadataIds === undefined ? null : listOf(body.surveyMetadataIds),
    allowContinuation: allowContinuation === true,
    fails: first && state.failFirstExport,
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
  if (pct < 100) {
    return { percentComplete: pct, status: "inProgress", fileId: null, continuationToken: null };
  }
  if (job.fails) {
    return { fileId: null, percentComplete: 100, status: "failed", continuationToken: null };
  }
  if (!job.fileId) {
    job.fileId = `${randomUUID()}-def`;
    state.files[job.fileId] = { surveyId, progressId, responses: renderExport(ctx, job) };
    if (job.allowContinuation) {
      job.continuationToken = randomBytes(18).toString("base64url");
      state.continuationTokens[job.continuationToken] = {
        surveyId,
        seq: job.snapshotSeq,
        issuedAt: ctx.now(),
        expired: false,
      };
    }
  }
  return {
    percentComplete: 100,
    status: "complete",
    fileId: job.fileId,
    continuationToken: job.continuationToken,
  };
}

/**
 * The `values` an export shows: every metadata field and question unless the request named which.
 * @param {Record<string, unknown>} values @param {ExportJob} job
 */
function exportedValues(values, job) {
  return Object.fromEntries(
    Object.entries(values).filter(([key]) => {
      if (key.startsWith("_")) return false; // the fake's own bookkeeping
      const wanted = METADATA.has(key) ? job.surveyMetadataIds : job.questionIds;
      return wanted === null || wanted.includes(key);
    }),
  );
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
      const values = exportedValues(r.values, job);
      /** @type {Record<string, unknown>} */
      const out = {
        responseId: r.responseId,
        values: r.placement === "values" ? { ...values, ...embedded } : values,
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

/** @type {import("./route.js").ApiRoute[]} */
export const responseExportRoutes = [
  {
    method: "POST",
    pattern: pathPattern(EXPORTS),
    endpoint: "startResponseExport",
    perMinute: 100,
    run: (ctx, { params, body }) => startResponseExport(ctx, params[0], body),
  },
  {
    method: "GET",
    pattern: pathPattern(`${EXPORTS}/:fileId/file`),
    endpoint: "getResponseExportFile",
    perMinute: 100,
    raw: true,
    run: (ctx, { params }) => responseExportFile(ctx, params[0], params[1]),
  },
  {
    method: "GET",
    pattern: pathPattern(`${EXPORTS}/:progressId`),
    endpoint: "getResponseExport",
    perMinute: 1000,
    run: (ctx, { params }) => responseExportProgress(ctx, params[0], params[1]),
  },
];
