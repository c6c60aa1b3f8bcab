// @ts-check
/**
 * The shapes every fake Qualtrics answer takes: the success envelope `{result, meta}`, the error
 * envelope `{meta: {httpStatus, requestId, error: {errorCode, errorMessage}}}` (with `httpStatus`
 * a string such as "400 - Bad Request"), and the JSON body rules (5 MB limit → 413, bad JSON → 400).
 * Success envelopes come in both documented forms: reads (GET) carry a bare `meta` with only
 * `requestId`, as one of Qualtrics' own examples does; writes carry `httpStatus` too.
 * Also the small helpers the endpoint modules share: Qualtrics-looking ids, type checks, progress,
 * the 1,000-character limit on embedded-data values.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";

/** An HTTP answer with the Qualtrics error envelope. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} errorCode
   * @param {string} message
   * @param {Record<string, string>} [headers]
   */
  constructor(status, errorCode, message, headers = {}) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
    this.headers = headers;
  }
}

/** @param {number} status */
function httpStatusText(status) {
  return `${status} - ${STATUS_CODES[status] ?? "Unknown"}`;
}

/** @param {number} status @param {string} errorCode @param {string} message */
export function errorEnvelope(status, errorCode, message) {
  return {
    meta: {
      httpStatus: httpStatusText(status),
      requestId: randomUUID(),
      error: { errorCode, errorMessage: message },
    },
  };
}

/** @param {unknown} result @param {string} method */
export function successEnvelope(result, method) {
  const meta =
    method === "GET"
      ? { requestId: randomUUID() }
      : { httpStatus: httpStatusText(200), requestId: randomUUID() };
  return { result, meta };
}

/**
 * @param {import("node:http").ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** @param {import("node:http").IncomingMessage} req @returns {Promise<Buffer>} */
export function readBody(req) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * A JSON body within `limit` bytes (`inclusive`: exactly `limit` is already too large).
 * @param {Buffer} body @param {number} limit @param {boolean} inclusive
 */
export function parseJsonBody(body, limit, inclusive) {
  if (inclusive ? body.length >= limit : body.length > limit) {
    throw new ApiError(
      413,
      "PAYLOAD_TOO_LARGE",
      `Request body is ${body.length} bytes; the limit is 5 MB`,
    );
  }
  if (body.length === 0) throw new ApiError(400, "QVAL_1", "Request body is required");
  try {
    return /** @type {unknown} */ (JSON.parse(body.toString("utf8")));
  } catch {
    throw new ApiError(400, "QVAL_1", "Request body is not valid JSON");
  }
}

/** @param {string} message @returns {never} */
export function badRequest(message) {
  throw new ApiError(400, "QVAL_1", message);
}

/** Qualtrics-looking ids: a prefix and 15 random alphanumerics. */
export function qid(/** @type {string} */ prefix) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(15);
  let out = prefix;
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** @param {unknown} v @returns {v is Record<string, unknown>} */
export function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** @param {unknown} v @returns {v is Record<string, string>} */
export function isStringRecord(v) {
  return isObject(v) && Object.values(v).every((x) => typeof x === "string");
}

/** Progress of a job that finishes after `needed` polls. */
export function percent(/** @type {number} */ polls, /** @type {number} */ needed) {
  if (needed <= 0) return 100;
  return Math.min(100, Math.round((polls / needed) * 100));
}

/** Characters (code points) Qualtrics keeps per embedded-data value; longer values are refused. */
export const MAX_VALUE_CHARACTERS = 1000;

/**
 * The first key of `values` whose value is over the limit, or undefined.
 * @param {Record<string, string>} values
 */
export function overlongValue(values) {
  return Object.keys(values).find((key) => [...(values[key] ?? "")].length > MAX_VALUE_CHARACTERS);
}
