// @ts-check
/**
 * What the fake Qualtrics remembers, and the context every endpoint module works on. The state is
 * plain JSON-able data (`GET /_fake/state` returns a copy); `reset` replaces it whole, so modules
 * always read it through the context, never keep a reference.
 */
import { rateLimitConfig } from "./rate-limits.js";
import { endpointScopes } from "./scopes.js";

/**
 * @typedef {import("./rate-limits.js").RateLimitConfig} RateLimitConfig
 * @typedef {import("./rate-limits.js").RateLimitOptions} RateLimitOptions
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
 * @property {"extRef" | "email" | null} [deduplicateOn]  the directory's automatic deduplication (default extRef; null: off)
 * @property {boolean} [failFirstExport]  the first export of each survey fails, as the documented failed reply
 * @property {number | null} [continuationTokenTtlMs]  continuation tokens are refused this long after issue (default: never)
 * @property {number} [pageSize]  elements per page of a list (default 100)
 */

/**
 * @typedef {object} Fault
 * @property {"status" | "hang" | "reset" | "reply"} kind
 * @property {number} status
 * @property {unknown} reply
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
 * @property {string} [landingUrl]  instead of embeddedData: the survey URL the respondent arrived with
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
 * @property {string} contactId
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
 * @property {string} contactId
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
 * @property {string[] | null} questionIds  null: every question
 * @property {string[] | null} surveyMetadataIds  null: every metadata field
 * @property {boolean} allowContinuation
 * @property {boolean} fails  this export ends `failed`
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
 * @property {"queued" | "inProgress" | "complete" | "failed"} status
 * @property {string[]} missingResponseIds
 * @property {{ responseId: string, message: string }[]} errors
 * @property {{ responseId: string, message: string }[]} warnings
 * @property {number} seq  creation order: jobs for one survey run in this order, one at a time
 */

/**
 * @typedef {object} FakeServerState
 * @property {string} token
 * @property {Record<string, string[]>} directories
 * @property {RateLimitConfig} rateLimits
 * @property {number} pollsToComplete
 * @property {Record<string, { id: string, directoryId: string, transactionIds: string[], creationDate: string, createdAt: string }>} batches
 * @property {Record<string, ImportJob>} imports
 * @property {Record<string, Contact>} contacts  keyed as the directory deduplicates (transactions.js)
 * @property {Transaction[]} transactions
 * @property {Record<string, { responses: StoredResponse[], added: number, flow: string[] | null }>} surveys  flow: the embedded-data fields the survey flow declares
 * @property {Record<string, ExportJob>} exports
 * @property {Record<string, { surveyId: string, progressId: string, responses: Record<string, unknown>[] }>} files
 * @property {Record<string, { surveyId: string, seq: number, issuedAt: number, expired: boolean }>} continuationTokens
 * @property {Record<string, UpdateJob>} updateJobs
 * @property {{ jobId: string | null, surveyId: string, responseId: string, embeddedData: Record<string, string>, at: string }[]} updatesApplied
 * @property {{ total: number, byEndpoint: Record<string, number>, byStatus: Record<string, number> }} calls
 * @property {{ method: string, path: string, endpoint: string, status: number, at: string }[]} requests
 * @property {Record<string, { expiresAt: number, scopes: string[] }>} oauthTokens
 * @property {Fault[]} faults
 * @property {string[]} failingExtRefs
 * @property {Record<string, string[]>} endpointScopes  scopes an OAuth token needs, per endpoint
 * @property {"extRef" | "email" | null} deduplicateOn
 * @property {boolean} failFirstExport
 * @property {string[]} exportedSurveys  surveys that have had an export (for failFirstExport)
 * @property {number | null} continuationTokenTtlMs
 * @property {Record<string, { reason: string, at: "start" | "job" }>} refusedUpdates  by response id
 */

/**
 * @typedef {object} FakeContext
 * @property {FakeServerState} state  replaced on reset
 * @property {Map<string, number[]>} windows  accepted request times per rate-limit key
 * @property {RateLimitConfig} initialLimits  what reset and setRateLimits start from
 * @property {() => number} now
 * @property {() => number} nextSeq  one counter for responses and update jobs: arrival order
 * @property {number} maxBodyBytes
 * @property {number} pageSize
 * @property {{ clientId: string, clientSecret: string, expiresIn: number }} oauthClient
 * @property {Set<NodeJS.Timeout>} timers  pending delays, cleared on close
 * @property {() => void} reset
 */

/** "5 MB of JSON": the fake reads it as 5,000,000 bytes, the strictest reading of the contract. */
const MAX_BODY_BYTES = 5_000_000;

/**
 * @param {FakeOptions} options
 * @returns {FakeContext}
 */
export function createContext(options) {
  const initialToken = options.token ?? "fake-token";
  const initialDirectories = options.directories ?? { POOL_fake: ["CG_fake"] };
  const initialLimits = rateLimitConfig(options.rateLimits);
  const initialPolls = options.pollsToComplete ?? 2;
  let seq = 0;

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
      endpointScopes: endpointScopes(),
      deduplicateOn: options.deduplicateOn === undefined ? "extRef" : options.deduplicateOn,
      failFirstExport: options.failFirstExport ?? false,
      exportedSurveys: [],
      continuationTokenTtlMs: options.continuationTokenTtlMs ?? null,
      refusedUpdates: {},
    };
  }

  /** @type {FakeContext} */
  const ctx = {
    state: freshState(),
    windows: new Map(),
    initialLimits,
    now: options.now ?? (() => Date.now()),
    nextSeq: () => ++seq,
    maxBodyBytes: options.maxBodyBytes ?? MAX_BODY_BYTES,
    pageSize: options.pageSize ?? 100,
    oauthClient: {
      clientId: options.oauth?.clientId ?? "fake-client",
      clientSecret: options.oauth?.clientSecret ?? "fake-secret",
      expiresIn: options.oauth?.expiresIn ?? 3600,
    },
    timers: new Set(),
    reset() {
      ctx.state = freshState();
      ctx.windows = new Map();
    },
  };
  return ctx;
}
