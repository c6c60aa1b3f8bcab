// @ts-check
/**
 * Fake Qualtrics API v3: the only fake in the test suite. It owns a real loopback HTTP server that
 * answers exactly the endpoints, envelopes, statuses and limits written in
 * /work/shared/qualtrics-api.md (XM Directory transaction imports, response exports, response
 * updates, OAuth client credentials), plus a `/_fake/` control surface for tests: inspect state,
 * reset, seed survey responses, inject faults, change the token or the limits.
 *
 * Invariant: anything a test can observe through `/API/v3` follows the contract page; test-only
 * behaviour lives under `/_fake/` (or the JS functions on the returned handle) and nowhere else.
 *
 * Node built-ins only, so it runs from vitest's globalSetup, from `scripts/fake-qualtrics.js`, or from
 * any plain node script.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, STATUS_CODES } from "node:http";

/** "5 MB of JSON": the fake reads it as 5,000,000 bytes, the strictest reading of the contract. */
export const MAX_BODY_BYTES = 5_000_000;
export const MAX_IMPORT_CONTACTS = 10_000;
export const MAX_UPDATES = 250_000;

/** Per-minute limits from qualtrics-api.md, keyed by the endpoint names used in `state.calls`. */
export const DEFAULT_ENDPOINT_LIMITS = Object.freeze({
  importTransactionContacts: 100,
  getTransactionImport: 500,
  getTransactionImportSummary: 500,
  createTransactionBatch: 500,
  startResponseExport: 100,
  getResponseExport: 1000,
  getResponseExportFile: 100,
  startUpdateResponses: 10,
  updateResponse: 3000,
});
export const DEFAULT_BRAND_LIMIT = 3000;

/** Scopes each endpoint needs when the caller holds an OAuth token (API tokens may do everything). */
const ENDPOINT_SCOPES = /** @type {Record<string, string[]>} */ ({
  createTransactionBatch: ["write:contact_transactions"],
  importTransactionContacts: ["write:contact_transactions", "write:mailing_list_contacts"],
  getTransactionImport: ["write:contact_transactions"],
  getTransactionImportSummary: ["write:contact_transactions"],
  startResponseExport: ["read:survey_responses"],
  getResponseExport: ["read:survey_responses"],
  getResponseExportFile: ["read:survey_responses"],
  startUpdateResponses: ["write:survey_responses"],
  getUpdateResponses: ["write:survey_responses"],
  updateResponse: ["write:survey_responses"],
});
const KNOWN_SCOPES = [...new Set(Object.values(ENDPOINT_SCOPES).flat())];

const XM_DATE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * @typedef {object} RateLimitConfig
 * @property {boolean} enabled
 * @property {number} windowMs  length of the window the limits count in (60,000 in Qualtrics; tests shrink it)
 * @property {number} brand     requests per window for the whole brand
 * @property {Record<string, number>} endpoints  per-endpoint requests per window
 * @property {"seconds" | "http-date" | "none"} retryAfter  how a 429 carries Retry-After ([?] in the contract)
 */

/**
 * @typedef {object} RateLimitOptions
 * @property {boolean} [enabled]
 * @property {number} [windowMs]
 * @property {number} [brand]
 * @property {Record<string, number>} [endpoints]  merged over DEFAULT_ENDPOINT_LIMITS
 * @property {"seconds" | "http-date" | "none"} [retryAfter]
 */

/**
 * @typedef {object} FakeOptions
 * @property {number} [port]             0 picks a free port
 * @property {string} [host]             loopback by default
 * @property {string} [token]            the valid X-API-TOKEN
 * @property {{ clientId?: string, clientSecret?: string, expiresIn?: number }} [oauth]
 * @property {RateLimitOptions | false} [rateLimits]  false disables every limit
 * @property {number} [pollsToComplete]  polls before an import/export/update job reports 100%
 * @property {Record<string, string[]>} [directories]  directoryId → its mailing list ids
 * @property {number} [maxBodyBytes]
 * @property {() => number} [now]
 */

/**
 * @typedef {object} FaultInput
 * @property {number} [status]       answer with this status (500, 503, 504, 429, …) and the error envelope
 * @property {boolean} [hang]        never answer (until the client gives up or the server closes)
 * @property {number} [hangMs]       with hang: answer normally after this many ms instead of never
 * @property {boolean} [reset]       destroy the socket: the client sees a network error
 * @property {number} [count]        how many requests the fault applies to (default 1)
 * @property {string} [endpoint]     only requests to this endpoint name (default: any Qualtrics route)
 * @property {number | string | null} [retryAfter]  Retry-After header value for status faults
 * @property {boolean} [after]      apply the fault after the request was handled (the work is done,
 *                                  the answer is lost): the ambiguous failure of a non-idempotent call
 */

/**
 * @typedef {object} Fault
 * @property {"status" | "hang" | "reset"} kind
 * @property {number} status
 * @property {number | null} hangMs
 * @property {number} remaining
 * @property {string | null} endpoint
 * @property {number | string | null} retryAfter
 * @property {boolean} after
 */

/**
 * @typedef {object} ResponseInput
 * @property {string} [responseId]
 * @property {boolean | 0 | 1} [finished]
 * @property {string} [recordedDate]   ISO date; defaults to now
 * @property {Record<string, string>} [embeddedData]
 * @property {"values" | "beside"} [placement]  where the export puts embedded data; alternates by default
 * @property {Record<string, unknown>} [values]  extra entries for `values` (question answers, …)
 */

/**
 * @typedef {object} StoredResponse
 * @property {string} responseId
 * @property {string} surveyId
 * @property {number} seq  order of arrival; continuation tokens point into it
 * @property {"values" | "beside"} placement
 * @property {Record<string, unknown>} values
 * @property {Record<string, string>} embeddedData
 */

/**
 * @typedef {object} FakeServerState
 * @property {string} token
 * @property {Record<string, string[]>} directories
 * @property {RateLimitConfig} rateLimits
 * @property {number} pollsToComplete
 * @property {Record<string, { id: string, directoryId: string, transactionIds: string[], creationDate: string, createdAt: string }>} batches
 * @property {Record<string, ImportJob>} imports
 * @property {Record<string, Contact>} contacts  keyed `${directoryId}:${extRef}`
 * @property {Transaction[]} transactions
 * @property {Record<string, { responses: StoredResponse[], added: number }>} surveys
 * @property {Record<string, ExportJob>} exports
 * @property {Record<string, { surveyId: string, progressId: string, responses: Record<string, unknown>[] }>} files
 * @property {Record<string, { surveyId: string, seq: number }>} continuationTokens
 * @property {Record<string, UpdateJob>} updateJobs
 * @property {{ jobId: string | null, surveyId: string, responseId: string, embeddedData: Record<string, string>, at: string }[]} updatesApplied
 * @property {{ total: number, byEndpoint: Record<string, number>, byStatus: Record<string, number> }} calls
 * @property {{ method: string, path: string, endpoint: string, status: number, at: string }[]} requests
 * @property {Record<string, { expiresAt: number, scopes: string[] }>} oauthTokens
 * @property {Fault[]} faults
 * @property {string[]} failingExtRefs
 */

/**
 * @typedef {object} ImportJob
 * @property {string} id
 * @property {string} directoryId
 * @property {string} mailingListId
 * @property {string} batchId
 * @property {boolean} idsValid  false: wrong directory, list or batch — everything counts 0
 * @property {number} polls
 * @property {number} contactCount
 * @property {number[]} unprocessed
 * @property {{ added: number, updated: number, failed: number }} counts
 * @property {number} transactionsCreated
 * @property {string[]} invalidEmails
 * @property {string} createdAt
 */

/**
 * @typedef {object} Contact
 * @property {string} directoryId
 * @property {string} extRef
 * @property {string[]} mailingListIds
 * @property {string | undefined} firstName
 * @property {string | undefined} lastName
 * @property {string | undefined} email
 * @property {string | undefined} language
 * @property {boolean} unsubscribed
 * @property {Record<string, string>} embeddedData
 * @property {Transaction[]} transactions
 */

/**
 * @typedef {object} Transaction
 * @property {string} transactionId
 * @property {string} directoryId
 * @property {string} mailingListId
 * @property {string} batchId
 * @property {string} importId
 * @property {string} extRef
 * @property {Record<string, string>} transactionData
 * @property {string} createdAt
 */

/**
 * @typedef {object} ExportJob
 * @property {string} progressId
 * @property {string} surveyId
 * @property {number} polls
 * @property {Record<string, unknown>} request
 * @property {string[]} responseIds  snapshot taken when the export started
 * @property {number} snapshotSeq
 * @property {string[] | null} embeddedDataIds
 * @property {boolean} allowContinuation
 * @property {string | null} fileId
 * @property {string | null} continuationToken
 */

/**
 * @typedef {object} UpdateJob
 * @property {string} progressId
 * @property {string} surveyId
 * @property {number} polls
 * @property {{ responseId: string, embeddedData: Record<string, string>, resetRecordedDate?: boolean }[]} updates
 * @property {boolean} ignoreMissingResponses
 * @property {"inProgress" | "complete" | "failed"} status
 * @property {string[]} missingResponseIds
 * @property {number} seq  creation order: jobs for one survey apply in this order
 */

/**
 * @typedef {object} FakeQualtrics
 * @property {string} url       e.g. http://127.0.0.1:8788
 * @property {string} baseUrl   url + "/API/v3"
 * @property {string} tokenUrl  url + "/oauth2/token"
 * @property {number} port
 * @property {FakeServerState} state  live state (plain objects/arrays; do not hold on to it across reset)
 * @property {() => Promise<void>} close
 * @property {() => FakeServerState} snapshot  a JSON deep copy of the state
 * @property {() => void} reset
 * @property {(surveyId: string, responses: ResponseInput[]) => string[]} addResponses
 * @property {(fault: FaultInput) => void} injectFault
 * @property {() => void} clearFaults
 * @property {(token: string) => void} setToken
 * @property {(limits: RateLimitOptions | false) => void} setRateLimits
 * @property {(extRefs: string[]) => void} failContacts
 * @property {(directoryId: string, mailingListIds: string[]) => void} addDirectory
 * @property {() => void} expireOAuthTokens
 * @property {(extRef: string, directoryId?: string) => Transaction[]} transactionsFor
 */

/** An HTTP answer with the Qualtrics error envelope. */
class ApiError extends Error {
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

/** Qualtrics-looking ids: a prefix and 15 random alphanumerics. */
function qid(/** @type {string} */ prefix) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(15);
  let out = prefix;
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** @param {unknown} v @returns {v is Record<string, string>} */
function isStringRecord(v) {
  return isObject(v) && Object.values(v).every((x) => typeof x === "string");
}

/** @param {string} s */
function isXmDate(s) {
  const m = XM_DATE.exec(s);
  if (!m) return false;
  const [, y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0] = m.map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, se));
  return (
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    h < 24 &&
    mi < 60 &&
    se < 60
  );
}

/** Progress of a job that finishes after `needed` polls. */
function percent(/** @type {number} */ polls, /** @type {number} */ needed) {
  if (needed <= 0) return 100;
  return Math.min(100, Math.round((polls / needed) * 100));
}

/**
 * @param {RateLimitOptions | false | undefined} input
 * @param {RateLimitConfig} [base]
 * @returns {RateLimitConfig}
 */
function rateLimitConfig(input, base) {
  const start = base ?? {
    enabled: true,
    windowMs: 60_000,
    brand: DEFAULT_BRAND_LIMIT,
    endpoints: { ...DEFAULT_ENDPOINT_LIMITS },
    retryAfter: /** @type {const} */ ("seconds"),
  };
  if (input === false) return { ...start, enabled: false };
  if (!input) return { ...start, endpoints: { ...start.endpoints } };
  return {
    enabled: input.enabled ?? true,
    windowMs: input.windowMs ?? start.windowMs,
    brand: input.brand ?? start.brand,
    endpoints: { ...start.endpoints, ...(input.endpoints ?? {}) },
    retryAfter: input.retryAfter ?? start.retryAfter,
  };
}

/**
 * Start a fake Qualtrics on loopback.
 *
 * @example
 * const fake = await startFakeQualtrics({ rateLimits: false });
 * await fetch(`${fake.baseUrl}/directories/POOL_fake/transactionbatches`, { … });
 * await fake.close();
 *
 * @param {FakeOptions} [options]
 * @returns {Promise<FakeQualtrics>}
 */
export async function startFakeQualtrics(options = {}) {
  const host = options.host ?? "127.0.0.1";
  const now = options.now ?? (() => Date.now());
  const initialToken = options.token ?? "fake-token";
  const oauthClientId = options.oauth?.clientId ?? "fake-client";
  const oauthClientSecret = options.oauth?.clientSecret ?? "fake-secret";
  const oauthExpiresIn = options.oauth?.expiresIn ?? 3600;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const initialDirectories = options.directories ?? { POOL_fake: ["CG_fake"] };
  const initialLimits = rateLimitConfig(options.rateLimits);
  const initialPolls = options.pollsToComplete ?? 2;

  /** @returns {FakeServerState} */
  function freshState() {
    return {
      token: initialToken,
      directories: Object.fromEntries(
        Object.entries(initialDirectories).map(([k, v]) => [k, [...v]]),
      ),
      rateLimits: rateLimitConfig(undefined, initialLimits),
      pollsToComplete: initialPolls,
      batches: {},
      imports: {},
      contacts: {},
      transactions: [],
      surveys: {},
      exports: {},
      files: {},
      continuationTokens: {},
      updateJobs: {},
      updatesApplied: [],
      calls: { total: 0, byEndpoint: {}, byStatus: {} },
      requests: [],
      oauthTokens: {},
      faults: [],
      failingExtRefs: [],
    };
  }

  const handle = /** @type {FakeQualtrics} */ ({});
  let state = freshState();
  let seqCounter = 0;
  /** Sliding windows of accepted request times, per limit key. */
  /** @type {Map<string, number[]>} */
  let windows = new Map();
  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set();
  /** Fakes spawned through /_fake/instances, closed with this one. */
  /** @type {Map<number, FakeQualtrics>} */
  const children = new Map();

  // ---------- test control, shared by the JS handle and /_fake/ routes ----------

  function reset() {
    state = freshState();
    handle.state = state;
    windows = new Map();
  }

  /** @param {string} surveyId @param {ResponseInput[]} inputs */
  function addResponses(surveyId, inputs) {
    const survey = surveyOf(surveyId);
    const ids = [];
    for (const input of inputs) {
      const recorded = input.recordedDate ? new Date(input.recordedDate) : new Date(now());
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
        seq: ++seqCounter,
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
          userLanguage: "EN",
          ...(input.values ?? {}),
        },
        embeddedData: { ...(input.embeddedData ?? {}) },
      };
      survey.responses.push(stored);
      ids.push(responseId);
    }
    return ids;
  }

  /** @param {FaultInput} input */
  function injectFault(input) {
    /** @type {Fault["kind"]} */
    const kind = input.reset ? "reset" : input.hang ? "hang" : "status";
    if (
      kind === "status" &&
      !(typeof input.status === "number" && input.status >= 400 && input.status < 600)
    ) {
      throw new ApiError(400, "FAKE_BAD_INPUT", "a fault needs status (4xx/5xx), hang or reset");
    }
    state.faults.push({
      kind,
      status: input.status ?? 0,
      hangMs: input.hangMs ?? null,
      remaining: input.count ?? 1,
      endpoint: input.endpoint ?? null,
      retryAfter: input.retryAfter ?? null,
      after: input.after === true,
    });
  }

  /** @param {string} surveyId */
  function surveyOf(surveyId) {
    let survey = state.surveys[surveyId];
    if (!survey) {
      survey = { responses: [], added: 0 };
      state.surveys[surveyId] = survey;
    }
    return survey;
  }

  // ---------- rate limits ----------

  /**
   * Count the request against the brand and endpoint windows, or throw the 429.
   * Rejected requests are not counted, so a client that backs off is let back in.
   * @param {string} endpoint
   */
  function enforceRateLimits(endpoint) {
    const cfg = state.rateLimits;
    if (!cfg.enabled) return;
    const t = now();
    /** @type {[string, number][]} */
    const checks = [["brand", cfg.brand]];
    const endpointLimit = cfg.endpoints[endpoint];
    if (typeof endpointLimit === "number") checks.push([`endpoint:${endpoint}`, endpointLimit]);
    let waitMs = 0;
    for (const [key, limit] of checks) {
      const hits = (windows.get(key) ?? []).filter((h) => h > t - cfg.windowMs);
      windows.set(key, hits);
      if (hits.length >= limit)
        waitMs = Math.max(waitMs, (hits[hits.length - limit] ?? t) + cfg.windowMs - t);
    }
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new ApiError(
        429,
        "TOO_MANY_REQUESTS",
        `Rate limit exceeded for ${endpoint}`,
        retryAfterHeader(cfg.retryAfter, seconds),
      );
    }
    for (const [key] of checks) windows.get(key)?.push(t);
  }

  /**
   * @param {RateLimitConfig["retryAfter"]} form
   * @param {number} seconds
   * @returns {Record<string, string>}
   */
  function retryAfterHeader(form, seconds) {
    if (form === "none") return {};
    if (form === "http-date")
      return { "Retry-After": new Date(now() + seconds * 1000).toUTCString() };
    return { "Retry-After": String(seconds) };
  }

  // ---------- auth ----------

  /** @param {import("node:http").IncomingMessage} req @param {string} endpoint */
  function authenticate(req, endpoint) {
    const apiToken = req.headers["x-api-token"];
    if (typeof apiToken === "string" && apiToken.length > 0) {
      if (apiToken === state.token) return;
      throw new ApiError(401, "AUTH_1.2", "Invalid X-API-TOKEN");
    }
    const authz = req.headers.authorization;
    if (typeof authz === "string" && /^bearer /i.test(authz)) {
      const grant = state.oauthTokens[authz.slice(7).trim()];
      if (!grant) throw new ApiError(401, "AUTH_1.2", "Invalid access token");
      if (grant.expiresAt <= now()) throw new ApiError(401, "AUTH_1.3", "Access token expired");
      const missing = (ENDPOINT_SCOPES[endpoint] ?? []).filter((s) => !grant.scopes.includes(s));
      if (missing.length > 0)
        throw new ApiError(403, "AUTH_2.1", `Missing scope: ${missing.join(" ")}`);
      return;
    }
    throw new ApiError(401, "AUTH_1.1", "Missing X-API-TOKEN or Authorization header");
  }

  /**
   * POST /oauth2/token. Errors here follow OAuth 2.0 (RFC 6749), not the API envelope.
   * @param {import("node:http").IncomingMessage} req
   * @param {Buffer} body
   */
  function issueOAuthToken(req, body) {
    const authz = req.headers.authorization ?? "";
    const basic = /^basic (.+)$/i.exec(authz);
    const decoded = Buffer.from(basic?.[1] ?? "", "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const id = colon >= 0 ? decoded.slice(0, colon) : "";
    const secret = colon >= 0 ? decoded.slice(colon + 1) : "";
    if (id !== oauthClientId || secret !== oauthClientSecret) {
      return {
        status: 401,
        body: { error: "invalid_client", error_description: "Client authentication failed" },
      };
    }
    const contentType = String(req.headers["content-type"] ?? "");
    if (!contentType.startsWith("application/x-www-form-urlencoded")) {
      return {
        status: 400,
        body: {
          error: "invalid_request",
          error_description: "Body must be application/x-www-form-urlencoded",
        },
      };
    }
    const form = new URLSearchParams(body.toString("utf8"));
    if (form.get("grant_type") !== "client_credentials") {
      return {
        status: 400,
        body: { error: "unsupported_grant_type", error_description: "Use client_credentials" },
      };
    }
    const requested = (form.get("scope") ?? "").split(/\s+/).filter(Boolean);
    const unknown = requested.filter((s) => !KNOWN_SCOPES.includes(s) && s !== "manage:all");
    if (unknown.length > 0) {
      return {
        status: 400,
        body: { error: "invalid_scope", error_description: `Unknown scope: ${unknown.join(" ")}` },
      };
    }
    // No scope asked for: the client's default grant, which here is everything.
    const scopes =
      requested.length === 0 || requested.includes("manage:all") ? [...KNOWN_SCOPES] : requested;
    const accessToken = randomBytes(24).toString("base64url");
    state.oauthTokens[accessToken] = { expiresAt: now() + oauthExpiresIn * 1000, scopes };
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: "Bearer",
        expires_in: oauthExpiresIn,
        scope: scopes.join(" "),
      },
    };
  }

  // ---------- body helpers ----------

  /** @param {Buffer} body @param {number} limit @param {boolean} inclusive */
  function parseJsonBody(body, limit, inclusive) {
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
  function badRequest(message) {
    throw new ApiError(400, "QVAL_1", message);
  }

  // ---------- XM Directory ----------

  /** @param {string} directoryId @param {Buffer} raw */
  function createTransactionBatch(directoryId, raw) {
    const body = parseJsonBody(raw, maxBodyBytes, false);
    if (!isObject(body)) badRequest("Body must be a JSON object");
    const { transactionIds, creationDate } = body;
    if (!Array.isArray(transactionIds) || !transactionIds.every((x) => typeof x === "string")) {
      badRequest("transactionIds must be an array of strings");
    }
    if (typeof creationDate !== "string" || !isXmDate(creationDate)) {
      badRequest("creationDate must be a UTC date formatted YYYY-MM-DD HH:MM:SS");
    }
    const id = qid("BT_");
    state.batches[id] = {
      id,
      directoryId,
      transactionIds: [.../** @type {string[]} */ (transactionIds)],
      creationDate: /** @type {string} */ (creationDate),
      createdAt: new Date(now()).toISOString(),
    };
    return { id };
  }

  /**
   * @param {string} directoryId
   * @param {string} mailingListId
   * @param {Buffer} raw
   * @param {string} baseUrl
   */
  function importTransactionContacts(directoryId, mailingListId, raw, baseUrl) {
    const body = parseJsonBody(raw, maxBodyBytes, false);
    if (!isObject(body)) badRequest("Body must be a JSON object");
    const meta = body.transactionMeta;
    if (!isObject(meta)) badRequest("transactionMeta is required");
    const { batchId, fields } = meta;
    if (typeof batchId !== "string" || batchId.length === 0)
      badRequest("transactionMeta.batchId is required");
    if (!Array.isArray(fields) || !fields.every((f) => typeof f === "string")) {
      badRequest("transactionMeta.fields must be an array of strings");
    }
    const fieldSet = new Set(/** @type {string[]} */ (fields));
    const contacts = body.contacts;
    if (!Array.isArray(contacts) || contacts.length === 0)
      badRequest("contacts must be a non-empty array");
    if (contacts.length > MAX_IMPORT_CONTACTS) {
      badRequest(`At most ${MAX_IMPORT_CONTACTS} contacts per import; got ${contacts.length}`);
    }
    contacts.forEach((c, i) => {
      if (!isObject(c)) badRequest(`contacts[${i}] must be an object`);
      if (c.transactionData !== undefined) {
        if (!isStringRecord(c.transactionData))
          badRequest(`contacts[${i}].transactionData values must be strings`);
        for (const key of Object.keys(c.transactionData)) {
          if (!fieldSet.has(key))
            badRequest(`contacts[${i}].transactionData.${key} is not in transactionMeta.fields`);
        }
      }
      if (c.embeddedData !== undefined && !isStringRecord(c.embeddedData)) {
        badRequest(`contacts[${i}].embeddedData values must be strings`);
      }
      for (const key of ["firstName", "lastName", "email", "language"]) {
        if (c[key] !== undefined && typeof c[key] !== "string")
          badRequest(`contacts[${i}].${key} must be a string`);
      }
      if (c.unsubscribed !== undefined && typeof c.unsubscribed !== "boolean") {
        badRequest(`contacts[${i}].unsubscribed must be a boolean`);
      }
    });

    const batch = state.batches[batchId];
    const idsValid =
      (state.directories[directoryId] ?? []).includes(mailingListId) &&
      batch !== undefined &&
      batch.directoryId === directoryId;
    const id = qid("PGR_");
    const createdAt = new Date(now()).toISOString();
    /** @type {ImportJob} */
    const job = {
      id,
      directoryId,
      mailingListId,
      batchId,
      idsValid,
      polls: 0,
      contactCount: contacts.length,
      unprocessed: [],
      counts: { added: 0, updated: 0, failed: 0 },
      transactionsCreated: 0,
      invalidEmails: [],
      createdAt,
    };

    /** @type {Record<string, unknown>[]} */ (contacts).forEach((c, index) => {
      const extRef = c.extRef;
      if (typeof extRef !== "string" || extRef.trim() === "" || isFailing(extRef)) {
        job.unprocessed.push(index);
        return;
      }
      // Wrong directory, list or batch: Qualtrics accepts the call and then records nothing.
      if (!idsValid || !batch) return;
      const key = `${directoryId}:${extRef}`;
      let contact = state.contacts[key];
      if (contact) {
        job.counts.updated += 1;
      } else {
        job.counts.added += 1;
        contact = {
          directoryId,
          extRef,
          mailingListIds: [],
          firstName: undefined,
          lastName: undefined,
          email: undefined,
          language: undefined,
          unsubscribed: false,
          embeddedData: {},
          transactions: [],
        };
        state.contacts[key] = contact;
      }
      if (!contact.mailingListIds.includes(mailingListId))
        contact.mailingListIds.push(mailingListId);
      for (const k of /** @type {const} */ (["firstName", "lastName", "email", "language"])) {
        const v = c[k];
        if (typeof v === "string") contact[k] = v;
      }
      if (typeof c.unsubscribed === "boolean") contact.unsubscribed = c.unsubscribed;
      Object.assign(contact.embeddedData, c.embeddedData ?? {});
      if (typeof c.email === "string" && !EMAIL.test(c.email)) job.invalidEmails.push(c.email);
      /** @type {Transaction} */
      const transaction = {
        transactionId: qid("CTR_"),
        directoryId,
        mailingListId,
        batchId,
        importId: id,
        extRef,
        transactionData: { .../** @type {Record<string, string>} */ (c.transactionData ?? {}) },
        createdAt,
      };
      contact.transactions.push(transaction);
      state.transactions.push(transaction);
      batch.transactionIds.push(transaction.transactionId);
      job.transactionsCreated += 1;
    });
    if (idsValid) job.counts.failed = job.unprocessed.length;
    state.imports[id] = job;
    return {
      id,
      tracking: {
        url: `${baseUrl}/directories/${directoryId}/mailinglists/${mailingListId}/transactioncontacts/${id}`,
      },
      status: "inProgress",
      contacts: { unprocessed: [...job.unprocessed] },
    };
  }

  /** @param {string} extRef */
  function isFailing(extRef) {
    return extRef.startsWith("bad-") || state.failingExtRefs.includes(extRef);
  }

  /**
   * @param {string} directoryId
   * @param {string} mailingListId
   * @param {string} importId
   * @param {boolean} summary
   */
  function transactionImportStatus(directoryId, mailingListId, importId, summary) {
    const job = state.imports[importId];
    if (!job || job.directoryId !== directoryId || job.mailingListId !== mailingListId) {
      throw new ApiError(404, "NOT_FOUND", `Import ${importId} not found`);
    }
    job.polls += 1;
    const pct = percent(job.polls, state.pollsToComplete);
    // While running, counts grow with progress; only the 100% numbers are final.
    const scale = (/** @type {number} */ n) => Math.floor((n * pct) / 100);
    /** @type {Record<string, unknown>} */
    const result = {
      percentComplete: pct,
      status: pct >= 100 ? "complete" : "inProgress",
      contacts: {
        count: {
          added: scale(job.counts.added),
          updated: scale(job.counts.updated),
          failed: scale(job.counts.failed),
        },
      },
      transactions: { count: { created: scale(job.transactionsCreated) } },
    };
    if (summary) result.invalidEmails = pct >= 100 ? [...job.invalidEmails] : [];
    return result;
  }

  // ---------- response exports ----------

  /** @param {string} surveyId */
  function requireSurveyId(surveyId) {
    if (!/^SV_[A-Za-z0-9]+$/.test(surveyId))
      throw new ApiError(404, "NOT_FOUND", `Survey ${surveyId} not found`);
    return surveyOf(surveyId);
  }

  /** @param {string} surveyId @param {Buffer} raw */
  function startResponseExport(surveyId, raw) {
    const survey = requireSurveyId(surveyId);
    const body = parseJsonBody(raw, maxBodyBytes, false);
    if (!isObject(body)) badRequest("Body must be a JSON object");
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

  /** @param {string} surveyId @param {string} progressId */
  function responseExportProgress(surveyId, progressId) {
    const job = state.exports[progressId];
    if (!job || job.surveyId !== surveyId)
      throw new ApiError(404, "NOT_FOUND", `Export ${progressId} not found`);
    job.polls += 1;
    const pct = percent(job.polls, state.pollsToComplete);
    if (pct < 100) return { percentComplete: pct, status: "inProgress" };
    if (!job.fileId) {
      job.fileId = `${randomUUID()}-def`;
      state.files[job.fileId] = { surveyId, progressId, responses: renderExport(job) };
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
   * @param {ExportJob} job
   */
  function renderExport(job) {
    const survey = surveyOf(job.surveyId);
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

  /** @param {string} surveyId @param {string} fileId */
  function responseExportFile(surveyId, fileId) {
    const file = state.files[fileId];
    if (!file || file.surveyId !== surveyId)
      throw new ApiError(404, "NOT_FOUND", `File ${fileId} not found`);
    return { responses: file.responses };
  }

  // ---------- response updates ----------

  /** @param {string} surveyId @param {Buffer} raw */
  function startUpdateResponses(surveyId, raw) {
    requireSurveyId(surveyId);
    // "<5 MB per job": exactly 5 MB is already too much.
    const body = parseJsonBody(raw, maxBodyBytes, true);
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
    state.updateJobs[progressId] = {
      progressId,
      surveyId,
      polls: 0,
      updates: /** @type {UpdateJob["updates"]} */ (updates),
      ignoreMissingResponses: ignoreMissingResponses === true,
      status: "inProgress",
      missingResponseIds: [],
      seq: ++seqCounter,
    };
    return { progressId, percentComplete: 0, status: "inProgress" };
  }

  /** @param {string} surveyId @param {string} progressId */
  function updateResponsesProgress(surveyId, progressId) {
    const job = state.updateJobs[progressId];
    if (!job || job.surveyId !== surveyId)
      throw new ApiError(404, "NOT_FOUND", `Job ${progressId} not found`);
    job.polls += 1;
    const pct = percent(job.polls, state.pollsToComplete);
    if (pct < 100) return { percentComplete: pct, status: "inProgress" };
    // Jobs for one survey queue behind each other: earlier ones land first.
    const earlier = Object.values(state.updateJobs)
      .filter((j) => j.surveyId === surveyId && j.status === "inProgress" && j.seq <= job.seq)
      .sort((a, b) => a.seq - b.seq);
    for (const j of earlier) applyUpdateJob(j);
    return { percentComplete: 100, status: job.status };
  }

  /** @param {UpdateJob} job */
  function applyUpdateJob(job) {
    const survey = surveyOf(job.surveyId);
    const byId = new Map(survey.responses.map((r) => [r.responseId, r]));
    job.missingResponseIds = job.updates
      .filter((u) => !byId.has(u.responseId))
      .map((u) => u.responseId);
    if (job.missingResponseIds.length > 0 && !job.ignoreMissingResponses) {
      job.status = "failed";
      return;
    }
    const at = new Date(now()).toISOString();
    for (const u of job.updates) {
      const r = byId.get(u.responseId);
      if (!r) continue;
      applyEmbeddedData(r, u.embeddedData, u.resetRecordedDate !== false, at);
      state.updatesApplied.push({
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
   * @param {StoredResponse} r
   * @param {Record<string, string>} embeddedData
   * @param {boolean} resetRecordedDate
   * @param {string} at
   */
  function applyEmbeddedData(r, embeddedData, resetRecordedDate, at) {
    Object.assign(r.embeddedData, embeddedData);
    if (resetRecordedDate) {
      r.values.recordedDate = at;
      r.values._recordedDate = Date.parse(at);
    }
  }

  /** @param {string} responseId @param {Buffer} raw */
  function updateSingleResponse(responseId, raw) {
    const body = parseJsonBody(raw, maxBodyBytes, false);
    if (!isObject(body)) badRequest("Body must be a JSON object");
    if (typeof body.surveyId !== "string") badRequest("surveyId is required");
    if (!isStringRecord(body.embeddedData)) badRequest("embeddedData values must be strings");
    if (body.resetRecordedDate !== undefined && typeof body.resetRecordedDate !== "boolean") {
      badRequest("resetRecordedDate must be a boolean");
    }
    const r = state.surveys[body.surveyId]?.responses.find((x) => x.responseId === responseId);
    if (!r) throw new ApiError(404, "NOT_FOUND", `Response ${responseId} not found`);
    const at = new Date(now()).toISOString();
    applyEmbeddedData(r, body.embeddedData, body.resetRecordedDate !== false, at);
    state.updatesApplied.push({
      jobId: null,
      surveyId: body.surveyId,
      responseId,
      embeddedData: { ...body.embeddedData },
      at,
    });
    return {};
  }

  // ---------- routing ----------

  /**
   * @typedef {object} Route
   * @property {string} endpoint
   * @property {(p: { body: Buffer, baseUrl: string }) => unknown} run
   */

  /** @param {string} method @param {string} path @returns {Route | null} */
  function matchApiRoute(method, path) {
    const seg = "([^/]+)";
    /** @type {[string, RegExp, string, (p: { params: [string, string, string], body: Buffer, baseUrl: string }) => unknown][]} */
    const table = [
      [
        "POST",
        new RegExp(`^/directories/${seg}/transactionbatches$`),
        "createTransactionBatch",
        ({ params, body }) => createTransactionBatch(params[0], body),
      ],
      [
        "POST",
        new RegExp(`^/directories/${seg}/mailinglists/${seg}/transactioncontacts$`),
        "importTransactionContacts",
        ({ params, body, baseUrl }) =>
          importTransactionContacts(params[0], params[1], body, baseUrl),
      ],
      [
        "GET",
        new RegExp(`^/directories/${seg}/mailinglists/${seg}/transactioncontacts/${seg}/summary$`),
        "getTransactionImportSummary",
        ({ params }) => transactionImportStatus(params[0], params[1], params[2], true),
      ],
      [
        "GET",
        new RegExp(`^/directories/${seg}/mailinglists/${seg}/transactioncontacts/${seg}$`),
        "getTransactionImport",
        ({ params }) => transactionImportStatus(params[0], params[1], params[2], false),
      ],
      [
        "POST",
        new RegExp(`^/surveys/${seg}/export-responses$`),
        "startResponseExport",
        ({ params, body }) => startResponseExport(params[0], body),
      ],
      [
        "GET",
        new RegExp(`^/surveys/${seg}/export-responses/${seg}/file$`),
        "getResponseExportFile",
        ({ params }) => responseExportFile(params[0], params[1]),
      ],
      [
        "GET",
        new RegExp(`^/surveys/${seg}/export-responses/${seg}$`),
        "getResponseExport",
        ({ params }) => responseExportProgress(params[0], params[1]),
      ],
      [
        "POST",
        new RegExp(`^/surveys/${seg}/update-responses$`),
        "startUpdateResponses",
        ({ params, body }) => startUpdateResponses(params[0], body),
      ],
      [
        "GET",
        new RegExp(`^/surveys/${seg}/update-responses/${seg}$`),
        "getUpdateResponses",
        ({ params }) => updateResponsesProgress(params[0], params[1]),
      ],
      [
        "PUT",
        new RegExp(`^/responses/${seg}$`),
        "updateResponse",
        ({ params, body }) => updateSingleResponse(params[0], body),
      ],
    ];
    for (const [m, re, endpoint, run] of table) {
      if (m !== method) continue;
      const match = re.exec(path);
      if (match) {
        const [a = "", b = "", c = ""] = match.slice(1).map((p) => decodeURIComponent(p));
        /** @type {[string, string, string]} */
        const params = [a, b, c];
        return { endpoint, run: (p) => run({ ...p, params }) };
      }
    }
    return null;
  }

  /** @param {string} endpoint */
  function takeFault(endpoint) {
    const i = state.faults.findIndex(
      (f) => f.remaining > 0 && (f.endpoint === null || f.endpoint === endpoint),
    );
    const fault = state.faults[i];
    if (!fault) return null;
    fault.remaining -= 1;
    if (fault.remaining <= 0) state.faults.splice(i, 1);
    return fault;
  }

  /** @param {string} endpoint @param {number} status @param {string} method @param {string} path */
  function recordCall(endpoint, status, method, path) {
    state.calls.total += 1;
    state.calls.byEndpoint[endpoint] = (state.calls.byEndpoint[endpoint] ?? 0) + 1;
    state.calls.byStatus[String(status)] = (state.calls.byStatus[String(status)] ?? 0) + 1;
    state.requests.push({ method, path, endpoint, status, at: new Date(now()).toISOString() });
    // Bounded so a long local session does not grow without limit.
    if (state.requests.length > 10_000) state.requests.splice(0, state.requests.length - 10_000);
  }

  /**
   * @param {import("node:http").ServerResponse} res
   * @param {number} status
   * @param {unknown} body
   * @param {Record<string, string>} [headers]
   */
  function sendJson(res, status, body, headers = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  /** @param {number} status @param {string} errorCode @param {string} message */
  function errorEnvelope(status, errorCode, message) {
    return {
      meta: {
        httpStatus: httpStatusText(status),
        requestId: randomUUID(),
        error: { errorCode, errorMessage: message },
      },
    };
  }

  /** @param {unknown} result */
  function successEnvelope(result) {
    return { result, meta: { httpStatus: httpStatusText(200), requestId: randomUUID() } };
  }

  /** @param {import("node:http").IncomingMessage} req @returns {Promise<Buffer>} */
  function readBody(req) {
    return new Promise((resolve, reject) => {
      /** @type {Buffer[]} */
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    });
  }

  /** @param {number} ms */
  function delay(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve(undefined);
      }, ms);
      timers.add(t);
    });
  }

  /**
   * A Qualtrics route: fault → auth → rate limit → handler, each ending in a contract-shaped answer.
   * @param {import("node:http").IncomingMessage} req
   * @param {import("node:http").ServerResponse} res
   * @param {URL} url
   * @param {Buffer} body
   */
  async function handleQualtrics(req, res, url, body) {
    const method = req.method ?? "GET";
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const isOAuth = path === "/oauth2/token";
    const apiPath = path.startsWith("/API/v3/") ? path.slice("/API/v3".length) : null;
    const route = isOAuth ? null : apiPath !== null ? matchApiRoute(method, apiPath) : null;
    const endpoint = isOAuth
      ? method === "POST"
        ? "oauthToken"
        : "unknown"
      : (route?.endpoint ?? "unknown");
    const baseUrl = `http://${req.headers.host ?? `${host}:${handle.port}`}/API/v3`;

    /** @param {number} status @param {unknown} payload @param {Record<string, string>} [headers] */
    const answer = (status, payload, headers) => {
      recordCall(endpoint, status, method, path);
      sendJson(res, status, payload, headers);
    };

    const fault = endpoint === "unknown" ? null : takeFault(endpoint);
    /**
     * Answers as the fault says: a dropped socket, no answer, or an error status. True when the
     * fault took the answer's place; false for a hang with hangMs (answer normally afterwards).
     * @param {Fault} f
     */
    const applyFault = async (f) => {
      if (f.kind === "reset") {
        recordCall(endpoint, 0, method, path);
        req.socket.destroy();
        return true;
      }
      if (f.kind === "hang") {
        if (f.hangMs === null) {
          recordCall(endpoint, 0, method, path);
          return true; // never answered; close() or the client's abort ends the socket
        }
        await delay(f.hangMs);
        return res.destroyed;
      }
      /** @type {Record<string, string>} */
      const headers = f.retryAfter === null ? {} : { "Retry-After": String(f.retryAfter) };
      const code =
        f.status === 429 ? "TOO_MANY_REQUESTS" : f.status >= 500 ? "SERVER_ERROR" : "FAULT";
      answer(f.status, errorEnvelope(f.status, code, `Injected ${f.status}`), headers);
      return true;
    };
    if (fault && !fault.after && (await applyFault(fault))) return;

    if (isOAuth) {
      if (method !== "POST") {
        answer(404, errorEnvelope(404, "NOT_FOUND", `No route for ${method} ${path}`));
        return;
      }
      const issued = issueOAuthToken(req, body);
      answer(
        issued.status,
        issued.body,
        issued.status === 200 ? { "Cache-Control": "no-store" } : {},
      );
      return;
    }
    try {
      if (!route) throw new ApiError(404, "NOT_FOUND", `No route for ${method} ${path}`);
      authenticate(req, route.endpoint);
      enforceRateLimits(route.endpoint);
      const result = route.run({ body, baseUrl });
      // The work is done; the fault takes the answer's place.
      if (fault?.after && (await applyFault(fault))) return;
      // The export file is the raw file, not an envelope.
      if (route.endpoint === "getResponseExportFile") answer(200, result);
      else answer(200, successEnvelope(result));
    } catch (err) {
      if (err instanceof ApiError) {
        answer(err.status, errorEnvelope(err.status, err.errorCode, err.message), err.headers);
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      answer(500, errorEnvelope(500, "SERVER_ERROR", `Fake Qualtrics bug: ${message}`));
    }
  }

  /**
   * Test control under /_fake/. Not part of Qualtrics: never counted, never rate limited.
   * @param {import("node:http").IncomingMessage} req
   * @param {import("node:http").ServerResponse} res
   * @param {URL} url
   * @param {Buffer} raw
   */
  async function handleControl(req, res, url, raw) {
    const method = req.method ?? "GET";
    const path = url.pathname.replace(/\/+$/, "");
    /** @type {Record<string, unknown>} */
    let body = {};
    if (raw.length > 0) {
      try {
        const parsed = JSON.parse(raw.toString("utf8"));
        body = isObject(parsed) ? parsed : { value: parsed };
      } catch {
        sendJson(res, 400, { error: "body is not JSON" });
        return;
      }
    }
    try {
      const surveyMatch = /^\/_fake\/surveys\/([^/]+)\/responses$/.exec(path);
      const instanceMatch = /^\/_fake\/instances\/(\d+)$/.exec(path);
      if (method === "GET" && path === "/_fake/state") return sendJson(res, 200, handle.snapshot());
      if (method === "POST" && path === "/_fake/reset") {
        reset();
        return sendJson(res, 200, { ok: true });
      }
      if (method === "POST" && surveyMatch) {
        const list = Array.isArray(body.value) ? body.value : body.responses;
        if (!Array.isArray(list)) return sendJson(res, 400, { error: "send {responses: [...]}" });
        const ids = addResponses(
          decodeURIComponent(surveyMatch[1] ?? ""),
          /** @type {ResponseInput[]} */ (list),
        );
        return sendJson(res, 200, { responseIds: ids });
      }
      if (method === "GET" && surveyMatch) {
        return sendJson(res, 200, {
          responses: state.surveys[decodeURIComponent(surveyMatch[1] ?? "")]?.responses ?? [],
        });
      }
      if (method === "POST" && path === "/_fake/faults") {
        const list = Array.isArray(body.value) ? body.value : [body];
        for (const f of list) injectFault(/** @type {FaultInput} */ (f));
        return sendJson(res, 200, { faults: state.faults });
      }
      if (method === "DELETE" && path === "/_fake/faults") {
        state.faults = [];
        return sendJson(res, 200, { ok: true });
      }
      if (method === "POST" && path === "/_fake/token") {
        if (typeof body.token !== "string") return sendJson(res, 400, { error: "send {token}" });
        state.token = body.token;
        return sendJson(res, 200, { ok: true });
      }
      if (method === "POST" && path === "/_fake/rate-limits") {
        handle.setRateLimits(
          body.enabled === false ? false : /** @type {RateLimitOptions} */ (body),
        );
        return sendJson(res, 200, { rateLimits: state.rateLimits });
      }
      if (method === "POST" && path === "/_fake/polls-to-complete") {
        if (typeof body.value !== "number") return sendJson(res, 400, { error: "send a number" });
        state.pollsToComplete = body.value;
        return sendJson(res, 200, { pollsToComplete: state.pollsToComplete });
      }
      if (method === "POST" && path === "/_fake/failing-contacts") {
        const list = Array.isArray(body.value) ? body.value : body.extRefs;
        if (!Array.isArray(list)) return sendJson(res, 400, { error: "send {extRefs: [...]}" });
        handle.failContacts(list.map(String));
        return sendJson(res, 200, { failingExtRefs: state.failingExtRefs });
      }
      if (method === "DELETE" && path === "/_fake/failing-contacts") {
        state.failingExtRefs = [];
        return sendJson(res, 200, { failingExtRefs: state.failingExtRefs });
      }
      if (method === "POST" && path === "/_fake/directories") {
        if (typeof body.directoryId !== "string" || !Array.isArray(body.mailingListIds)) {
          return sendJson(res, 400, { error: "send {directoryId, mailingListIds}" });
        }
        handle.addDirectory(body.directoryId, body.mailingListIds.map(String));
        return sendJson(res, 200, { directories: state.directories });
      }
      if (method === "POST" && path === "/_fake/oauth/expire") {
        handle.expireOAuthTokens();
        return sendJson(res, 200, { ok: true });
      }
      // A private fake per test file, so parallel files never share state or limits.
      if (method === "POST" && path === "/_fake/instances") {
        const child = await startFakeQualtrics({ host, ...body });
        children.set(child.port, child);
        return sendJson(res, 200, {
          url: child.url,
          baseUrl: child.baseUrl,
          tokenUrl: child.tokenUrl,
          port: child.port,
        });
      }
      if (method === "DELETE" && instanceMatch) {
        const child = children.get(Number(instanceMatch[1]));
        if (!child) return sendJson(res, 404, { error: "no such instance" });
        children.delete(child.port);
        await child.close();
        return sendJson(res, 200, { ok: true });
      }
      return sendJson(res, 404, { error: `no control route ${method} ${path}` });
    } catch (err) {
      if (err instanceof ApiError) return sendJson(res, err.status, { error: err.message });
      throw err;
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    readBody(req)
      .then((body) =>
        url.pathname.startsWith("/_fake/")
          ? handleControl(req, res, url, body)
          : handleQualtrics(req, res, url, body),
      )
      .catch((err) => {
        if (!res.headersSent && !res.destroyed) {
          sendJson(
            res,
            500,
            errorEnvelope(500, "SERVER_ERROR", `Fake Qualtrics bug: ${String(err)}`),
          );
        }
      });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new Error("fake Qualtrics did not bind a TCP port");
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${address.port}`;

  let closed = false;
  Object.assign(handle, {
    url,
    baseUrl: `${url}/API/v3`,
    tokenUrl: `${url}/oauth2/token`,
    port: address.port,
    state,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all([...children.values()].map((c) => c.close()));
      children.clear();
      await new Promise((resolve) => {
        server.close(() => resolve(undefined));
        // Hanging requests and idle keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
    snapshot: () => /** @type {FakeServerState} */ (JSON.parse(JSON.stringify(state))),
    reset,
    addResponses,
    injectFault,
    clearFaults() {
      state.faults = [];
    },
    setToken(/** @type {string} */ token) {
      state.token = token;
    },
    setRateLimits(/** @type {RateLimitOptions | false} */ limits) {
      state.rateLimits = rateLimitConfig(limits, initialLimits);
      windows = new Map();
    },
    failContacts(/** @type {string[]} */ extRefs) {
      for (const e of extRefs) if (!state.failingExtRefs.includes(e)) state.failingExtRefs.push(e);
    },
    addDirectory(/** @type {string} */ directoryId, /** @type {string[]} */ mailingListIds) {
      const lists = state.directories[directoryId] ?? [];
      for (const ml of mailingListIds) if (!lists.includes(ml)) lists.push(ml);
      state.directories[directoryId] = lists;
    },
    expireOAuthTokens() {
      for (const grant of Object.values(state.oauthTokens)) grant.expiresAt = 0;
    },
    transactionsFor(/** @type {string} */ extRef, /** @type {string | undefined} */ directoryId) {
      return state.transactions.filter(
        (t) => t.extRef === extRef && (directoryId === undefined || t.directoryId === directoryId),
      );
    },
  });
  return handle;
}
