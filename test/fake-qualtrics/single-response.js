// @ts-check
/**
 * `PUT /responses/{responseId}` with `{surveyId, embeddedData, resetRecordedDate}`: one response's
 * embedded data, written at once.
 */
import { ApiError, badRequest, isObject, isStringRecord, parseJsonBody } from "./envelopes.js";
import { pathPattern } from "./route.js";
import { applyEmbeddedData } from "./update-responses.js";

/** @param {import("./state.js").FakeContext} ctx @param {string} responseId @param {Buffer} raw */
function updateSingleResponse(ctx, responseId, raw) {
  const body = parseJsonBody(raw, ctx.maxBodyBytes, false);
  if (!isObject(body)) badRequest("Body must be a JSON object");
  if (typeof body.surveyId !== "string") badRequest("surveyId is required");
  if (!isStringRecord(body.embeddedData)) badRequest("embeddedData values must be strings");
  if (body.resetRecordedDate !== undefined && typeof body.resetRecordedDate !== "boolean") {
    badRequest("resetRecordedDate must be a boolean");
  }
  const r = ctx.state.surveys[body.surveyId]?.responses.find((x) => x.responseId === responseId);
  if (!r) throw new ApiError(404, "NOT_FOUND", `Response ${responseId} not found`);
  const at = new Date(ctx.now()).toISOString();
  applyEmbeddedData(r, body.embeddedData, body.resetRecordedDate !== false, at);
  ctx.state.updatesApplied.push({
    jobId: null,
    surveyId: body.surveyId,
    responseId,
    embeddedData: { ...body.embeddedData },
    at,
  });
  return {};
}

/** @type {import("./route.js").ApiRoute[]} */
export const singleResponseRoutes = [
  {
    method: "PUT",
    pattern: pathPattern("/responses/:responseId"),
    endpoint: "updateResponse",
    perMinute: 3000,
    run: (ctx, { params, body }) => updateSingleResponse(ctx, params[0], body),
  },
];
