// @ts-check
/**
 * What a survey records from the URL a respondent opened it with, as Qualtrics documents it: each
 * embedded-data field the survey flow declares takes the value of the query parameter of the same
 * name, or of the same name inside `Q_EED` (one parameter holding standard base64 of a UTF-8 JSON
 * object of strings, read as if each entry had come as its own parameter). Parameters the flow
 * does not declare are not recorded. `Q_Language` opens the survey in that language, which the
 * response records as `userLanguage`.
 *
 * The contract does not say which wins when a field comes both ways; the fake lets `Q_EED` win.
 * A `Q_EED` that is not standard base64 of a JSON object is ignored, as a survey ignores any
 * parameter it cannot read.
 */
import { ApiError } from "./envelopes.js";

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The entries of a `Q_EED` value (already percent-decoded); null when it cannot be read.
 * @param {string} value
 * @returns {Record<string, string> | null}
 */
export function decodeQEed(value) {
  if (!STANDARD_BASE64.test(value)) return null;
  try {
    const bytes = Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0));
    const parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
    /** @type {Record<string, string>} */
    const entries = {};
    for (const [name, entry] of Object.entries(parsed)) {
      if (typeof entry === "string" || typeof entry === "number" || typeof entry === "boolean") {
        entries[name] = String(entry);
      }
    }
    return entries;
  } catch {
    return null;
  }
}

/**
 * The embedded data and language a response records when its respondent arrived at `landingUrl`.
 * @param {string} surveyId
 * @param {string} landingUrl
 * @param {string[]} declared  the embedded-data fields the survey flow declares
 * @returns {{ embeddedData: Record<string, string>, language: string | null }}
 */
export function recordLanding(surveyId, landingUrl, declared) {
  let url;
  try {
    url = new URL(landingUrl);
  } catch {
    throw new ApiError(400, "FAKE_BAD_INPUT", "landingUrl is not an absolute URL");
  }
  if (url.pathname.split("/").at(-1) !== surveyId) {
    throw new ApiError(400, "FAKE_BAD_INPUT", `landingUrl is not a link to survey ${surveyId}`);
  }
  // A survey's server reads its query string as a form decoder does.
  const params = Object.fromEntries(url.searchParams);
  const eed = params.Q_EED === undefined ? null : decodeQEed(params.Q_EED);
  const supplied = { ...params, ...eed };
  /** @type {Record<string, string>} */
  const embeddedData = {};
  for (const field of declared) {
    const value = supplied[field];
    if (value !== undefined) embeddedData[field] = value;
  }
  return { embeddedData, language: params.Q_Language ?? null };
}
