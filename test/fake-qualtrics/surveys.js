// @ts-check
/**
 * The surveys' responses: created on first use, seeded by tests (Qualtrics has no such endpoint),
 * read by exports and written by updates. A response is seeded either with its embedded data, or
 * with the landing URL its respondent arrived with, which the survey reads as its flow declares
 * (landing.js). A survey id that does not look like Qualtrics' (`SV_…`) is an unknown survey.
 */
import { ApiError, qid } from "./envelopes.js";
import { recordLanding } from "./landing.js";

/**
 * @typedef {import("./state.js").FakeContext} FakeContext
 * @typedef {import("./state.js").ResponseInput} ResponseInput
 * @typedef {import("./state.js").StoredResponse} StoredResponse
 */

/** A survey's responses, created empty on first use. @param {FakeContext} ctx @param {string} surveyId */
export function surveyOf(ctx, surveyId) {
  let survey = ctx.state.surveys[surveyId];
  if (!survey) {
    survey = { responses: [], added: 0, flow: null };
    ctx.state.surveys[surveyId] = survey;
  }
  return survey;
}

/**
 * A survey named as Qualtrics names them (`SV_…`); any other id is an unknown survey.
 * @param {FakeContext} ctx @param {string} surveyId
 */
export function requireSurvey(ctx, surveyId) {
  if (!/^SV_[A-Za-z0-9]+$/.test(surveyId))
    throw new ApiError(404, "NOT_FOUND", `Survey ${surveyId} not found`);
  return surveyOf(ctx, surveyId);
}

/**
 * The embedded-data fields a survey's flow declares (test setup; the survey editor's job).
 * @param {FakeContext} ctx @param {string} surveyId @param {string[]} fields
 */
export function declareEmbeddedData(ctx, surveyId, fields) {
  surveyOf(ctx, surveyId).flow = [...fields];
}

/**
 * What a response records: its seeded embedded data, or what its landing URL gives the fields
 * the survey flow declares.
 * @param {FakeContext} ctx @param {string} surveyId @param {ResponseInput} input
 */
function recordedData(ctx, surveyId, input) {
  if (input.landingUrl === undefined) {
    return { embeddedData: { ...(input.embeddedData ?? {}) }, language: null };
  }
  if (input.embeddedData !== undefined)
    throw new ApiError(400, "FAKE_BAD_INPUT", "send either embeddedData or landingUrl");
  const flow = surveyOf(ctx, surveyId).flow;
  if (flow === null) {
    throw new ApiError(
      400,
      "FAKE_BAD_INPUT",
      `survey ${surveyId} declares no embedded data: PUT /_fake/surveys/${surveyId}/flow first`,
    );
  }
  return recordLanding(surveyId, input.landingUrl, flow);
}

/**
 * Responses as Qualtrics would record them (test seeding; Qualtrics has no such endpoint).
 * @param {FakeContext} ctx @param {string} surveyId @param {ResponseInput[]} inputs
 */
export function addResponses(ctx, surveyId, inputs) {
  const survey = surveyOf(ctx, surveyId);
  const ids = [];
  for (const input of inputs) {
    const { embeddedData, language } = recordedData(ctx, surveyId, input);
    const recorded = input.recordedDate ? new Date(input.recordedDate) : new Date(ctx.now());
    if (Number.isNaN(recorded.getTime()))
      throw new ApiError(400, "FAKE_BAD_INPUT", "recordedDate is not a date");
    const finished = input.finished === undefined ? 1 : Number(Boolean(input.finished));
    const responseId = input.responseId ?? qid("R_");
    const placement = input.placement ?? (survey.added % 2 === 0 ? "values" : "beside");
    survey.added += 1;
    const startDate = new Date(recorded.getTime() - 90_000);
    /** @type {StoredResponse} */
    const stored = {
      responseId,
      surveyId,
      seq: ctx.nextSeq(),
      placement,
      values: {
        startDate: startDate.toISOString(),
        endDate: recorded.toISOString(),
        status: 0,
        progress: finished ? 100 : 50,
        duration: 90,
        finished,
        recordedDate: recorded.toISOString(),
        _recordedDate: recorded.getTime(),
        distributionChannel: "anonymous",
        userLanguage: language ?? "EN",
        ...(input.values ?? {}),
      },
      embeddedData,
    };
    survey.responses.push(stored);
    ids.push(responseId);
  }
  return ids;
}
