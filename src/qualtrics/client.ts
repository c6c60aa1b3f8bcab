/**
 * Qualtrics API v3 client: the only module that sends requests to Qualtrics (see
 * /work/shared/qualtrics-api.md). It owns authentication (API token or OAuth client credentials),
 * pacing under the brand's per-minute limit, retries with backoff, the per-run call budget, and
 * zod parsing of every reply.
 *
 * Invariants: a call either returns data that passed its schema or throws a `QualtricsError`;
 * `calls` counts every request sent (retries and token requests included) and never exceeds
 * `maxCalls`; only 429, 5xx, network errors and timeouts are retried — and for the one call that
 * is not idempotent (the transactioncontacts import, which creates transactions), only a 429,
 * which Qualtrics answers without doing the work. Its other failures are thrown with
 * `ambiguous: true`: the caller decides, since repeating it could create every transaction twice.
 */
import { z } from "zod";

/** "5 MB of JSON" read strictly as 5,000,000 bytes, so a body we send is under every reading. */
export const MAX_REQUEST_BYTES = 5_000_000;
export const MAX_CONTACTS_PER_IMPORT = 10_000;
export const MAX_UPDATES_PER_JOB = 250_000;
/** Qualtrics' brand-wide limit, shared with every other integration of the brand. */
const BRAND_CALLS_PER_MINUTE = 3000;
/** Scopes invite-edge needs when it authenticates with OAuth. */
export const QUALTRICS_OAUTH_SCOPES =
  "write:contact_transactions write:mailing_list_contacts read:survey_responses write:survey_responses";

// ---------- errors ----------

export interface QualtricsErrorInit {
  status: number;
  errorCode: string;
  message: string;
  requestId?: string | undefined;
  retryable: boolean;
  retryAfterMs?: number | undefined;
  attempts?: number;
  ambiguous?: boolean;
  method?: string;
  path?: string;
}

/**
 * Any failure talking to Qualtrics. `status` is the HTTP status, or 0 when no HTTP answer came
 * (network error, timeout, budget, a request refused before sending).
 */
export class QualtricsError extends Error {
  override readonly name: string = "QualtricsError";
  readonly status: number;
  readonly errorCode: string;
  readonly requestId: string | undefined;
  /** True when the same request may succeed later (429, 5xx, network, timeout). */
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  /** Requests sent for this operation before giving up. */
  readonly attempts: number;
  /**
   * True when the request may have taken effect although no success answer came back (a timeout,
   * a dropped connection or a 5xx on a call that is not idempotent): repeating it may apply it twice.
   */
  readonly ambiguous: boolean;
  readonly method: string | undefined;
  readonly path: string | undefined;

  constructor(init: QualtricsErrorInit) {
    super(init.message);
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.requestId = init.requestId;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.attempts = init.attempts ?? 1;
    this.ambiguous = init.ambiguous ?? false;
    this.method = init.method;
    this.path = init.path;
  }
}

/** The run's call budget is spent: stop, and let the next run carry on. */
export class QualtricsBudgetError extends QualtricsError {
  override readonly name: string = "QualtricsBudgetError";
  readonly maxCalls: number;

  constructor(maxCalls: number, method?: string, path?: string) {
    super({
      status: 0,
      errorCode: "call_budget_exhausted",
      message: `Qualtrics call budget of ${maxCalls} calls for this run is spent`,
      retryable: false,
      attempts: 0,
      ...(method !== undefined ? { method } : {}),
      ...(path !== undefined ? { path } : {}),
    });
    this.maxCalls = maxCalls;
  }
}

// ---------- public types ----------

export interface QualtricsOAuthOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
}

export interface QualtricsClientOptions {
  /** e.g. `https://iad1.qualtrics.com/API/v3` */
  baseUrl: string;
  apiToken?: string;
  oauth?: QualtricsOAuthOptions;
  /** Requests this client may send in total (one reconcile run). Default: unlimited. */
  maxCalls?: number;
  /** Pace sends under this many per rolling minute. Default 3000 (the brand limit). */
  maxCallsPerMinute?: number;
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** Backoff base: attempt n waits up to baseDelayMs·2ⁿ. Default 500. */
  baseDelayMs?: number;
  /** Cap on one backoff wait. Default 30,000. */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited out: the error is thrown. Default 60,000. */
  maxRetryAfterMs?: number;
  /** Per-request timeout, body included. Default 30,000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export interface TransactionContact {
  /** The caller's stable id for the person; Qualtrics dedups on it. */
  extRef: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  language?: string;
  unsubscribed?: boolean;
  embeddedData?: Record<string, string>;
  /** Keys must be listed in the import's `fields`. */
  transactionData: Record<string, string>;
}

export interface TransactionImportInput {
  batchId: string;
  fields: string[];
  contacts: TransactionContact[];
}

export interface TransactionImportStarted {
  importId: string;
  trackingUrl: string | undefined;
  status: string;
  /** Indexes into the contacts sent that Qualtrics refused. */
  unprocessed: number[];
}

export interface TransactionImportProgress {
  percentComplete: number;
  status: string;
  /** True at 100%: only then are the counts final. */
  complete: boolean;
  contacts: { added: number; updated: number; failed: number };
  transactionsCreated: number;
  /** Only the summary endpoint reports these. */
  invalidEmails: string[];
}

export type ResponseExportStart =
  | { continuationToken: string; startDate?: never; embeddedDataIds?: string[] }
  | { startDate?: string | Date; continuationToken?: never; embeddedDataIds?: string[] };

export interface ResponseExportStarted {
  progressId: string;
  percentComplete: number;
  status: string;
}

export interface ResponseExportProgress {
  percentComplete: number;
  status: string;
  complete: boolean;
  failed: boolean;
  fileId: string | undefined;
  continuationToken: string | undefined;
}

export interface ExportedResponse {
  responseId: string;
  finished: boolean;
  recordedDate: string | undefined;
  /** `values` with every key found beside it merged in (`values` wins a conflict). */
  values: Record<string, unknown>;
  /** Embedded data, read from inside `values` and from beside it, as strings. */
  embeddedData: Record<string, string>;
}

export interface ResponseUpdate {
  responseId: string;
  embeddedData: Record<string, string>;
  resetRecordedDate?: boolean;
}

export interface UpdateResponsesProgress {
  percentComplete: number;
  status: string;
  complete: boolean;
  failed: boolean;
}

export interface QualtricsClient {
  /** Requests sent so far (retries and OAuth token requests included). */
  readonly calls: number;
  createTransactionBatch(
    directoryId: string,
    creationDate: Date | string,
  ): Promise<{ batchId: string }>;
  importTransactionContacts(
    directoryId: string,
    mailingListId: string,
    input: TransactionImportInput,
  ): Promise<TransactionImportStarted>;
  getTransactionImport(
    directoryId: string,
    mailingListId: string,
    importId: string,
  ): Promise<TransactionImportProgress>;
  getTransactionImportSummary(
    directoryId: string,
    mailingListId: string,
    importId: string,
  ): Promise<TransactionImportProgress>;
  startResponseExport(
    surveyId: string,
    start?: ResponseExportStart,
  ): Promise<ResponseExportStarted>;
  getResponseExport(surveyId: string, progressId: string): Promise<ResponseExportProgress>;
  getResponseExportFile(
    surveyId: string,
    fileId: string,
    options?: { embeddedDataIds?: string[] },
  ): Promise<ExportedResponse[]>;
  startUpdateResponses(
    surveyId: string,
    updates: ResponseUpdate[],
    options?: { ignoreMissingResponses?: boolean },
  ): Promise<{ progressId: string }>;
  getUpdateResponses(surveyId: string, progressId: string): Promise<UpdateResponsesProgress>;
}

// ---------- helpers ----------

/**
 * A date as XM Directory bodies want it: UTC, `YYYY-MM-DD HH:MM:SS`.
 *
 * @example toQualtricsDate(new Date("2026-11-28T10:00:00.123Z")) // "2026-11-28 10:00:00"
 */
export function toQualtricsDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("toQualtricsDate: invalid Date");
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** UTF-8 length of a string without allocating its encoding (chunking measures every contact). */
function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

interface ChunkLimits {
  maxItems: number;
  /** Every chunk's JSON body is strictly smaller than this. */
  maxBytes: number;
  /** Bytes of the body around the array: `{"meta":…,"items":[]}`. */
  overheadBytes: number;
}

/**
 * Split items so that each chunk, serialised as a JSON array inside a body of `overheadBytes`,
 * stays under both limits. Order is kept. An item too large to fit alone is a RangeError.
 */
function chunkByLimits<T>(items: readonly T[], limits: ChunkLimits): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = limits.overheadBytes;
  items.forEach((item, index) => {
    const size = utf8ByteLength(JSON.stringify(item));
    if (limits.overheadBytes + size >= limits.maxBytes) {
      throw new RangeError(
        `item ${index} alone is ${size} bytes of JSON: over the ${limits.maxBytes}-byte limit`,
      );
    }
    // A comma separates it from the previous item of the same chunk.
    const added = current.length === 0 ? size : size + 1;
    if (current.length >= limits.maxItems || bytes + added >= limits.maxBytes) {
      chunks.push(current);
      current = [];
      bytes = limits.overheadBytes;
      bytes += size;
    } else bytes += added;
    current.push(item);
  });
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A batch id longer than Qualtrics' (`BT_` + 15) so the estimate never undershoots. */
const BATCH_ID_PLACEHOLDER = "BT_".padEnd(64, "x");

/**
 * Split contacts into imports of ≤10,000 contacts and <5 MB of JSON each, measured on the exact
 * body `importTransactionContacts` sends with these `fields`.
 */
export function chunkTransactionContacts(
  contacts: readonly TransactionContact[],
  options: { fields: string[]; maxContacts?: number; maxBytes?: number },
): TransactionContact[][] {
  const overhead = utf8ByteLength(
    JSON.stringify(
      importBody({ batchId: BATCH_ID_PLACEHOLDER, fields: options.fields, contacts: [] }),
    ),
  );
  return chunkByLimits(contacts, {
    maxItems: Math.min(options.maxContacts ?? MAX_CONTACTS_PER_IMPORT, MAX_CONTACTS_PER_IMPORT),
    maxBytes: Math.min(options.maxBytes ?? MAX_REQUEST_BYTES, MAX_REQUEST_BYTES),
    overheadBytes: overhead,
  });
}

/** Split response updates into jobs of ≤250,000 updates and <5 MB of JSON each. */
export function chunkResponseUpdates(
  updates: readonly ResponseUpdate[],
  options: { maxUpdates?: number; maxBytes?: number } = {},
): ResponseUpdate[][] {
  const overhead = utf8ByteLength(JSON.stringify(updateBody([], true)));
  return chunkByLimits(updates, {
    maxItems: Math.min(options.maxUpdates ?? MAX_UPDATES_PER_JOB, MAX_UPDATES_PER_JOB),
    maxBytes: Math.min(options.maxBytes ?? MAX_REQUEST_BYTES, MAX_REQUEST_BYTES),
    overheadBytes: overhead,
  });
}

function importBody(input: TransactionImportInput) {
  return {
    transactionMeta: { batchId: input.batchId, fields: input.fields },
    contacts: input.contacts,
  };
}

function updateBody(updates: readonly ResponseUpdate[], ignoreMissingResponses: boolean) {
  return { updates, ignoreMissingResponses };
}

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110). Undefined when absent
 * or unreadable, so the caller falls back to its own backoff.
 */
function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

// ---------- reply schemas ----------

const metaSchema = z.object({ httpStatus: z.string(), requestId: z.string().optional() });

function envelope<T extends z.ZodType>(result: T) {
  return z.object({ result, meta: metaSchema });
}

const errorEnvelopeSchema = z.object({
  meta: z.object({
    httpStatus: z.string().optional(),
    requestId: z.string().optional(),
    error: z.object({ errorCode: z.string().optional(), errorMessage: z.string().optional() }),
  }),
});

/** OAuth 2.0 error shape (RFC 6749 §5.2), what a token endpoint answers instead of the envelope. */
const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

const tokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === "bearer", "token_type must be Bearer"),
  expires_in: z.coerce.number().positive(),
});

const count = z.number().int().nonnegative().catch(0);

const batchSchema = envelope(z.object({ id: z.string().min(1) }));

const importStartSchema = envelope(
  z.object({
    id: z.string().min(1),
    tracking: z.object({ url: z.string() }).optional(),
    status: z.string().default("inProgress"),
    contacts: z
      .object({ unprocessed: z.array(z.number().int().nonnegative()).default([]) })
      .optional(),
  }),
);

const importProgressSchema = envelope(
  z.object({
    percentComplete: z.number(),
    status: z.string().default(""),
    contacts: z
      .object({
        count: z.object({ added: count, updated: count, failed: count }).partial().optional(),
      })
      .optional(),
    transactions: z.object({ count: z.object({ created: count }).partial().optional() }).optional(),
    invalidEmails: z.array(z.string()).optional(),
  }),
);

const exportStartSchema = envelope(
  z.object({
    progressId: z.string().min(1),
    percentComplete: z.number().default(0),
    status: z.string().default("inProgress"),
  }),
);

const exportProgressSchema = envelope(
  z.object({
    percentComplete: z.number(),
    status: z.string(),
    fileId: z.string().optional(),
    continuationToken: z.string().optional(),
  }),
);

/** The export file is the raw file, not an envelope. Unknown keys are kept: they may be embedded data. */
const exportFileSchema = z.object({
  responses: z.array(
    z.looseObject({
      responseId: z.string().min(1),
      values: z.record(z.string(), z.unknown()).default({}),
    }),
  ),
});

const updateStartSchema = envelope(z.object({ progressId: z.string().min(1) }));

const updateProgressSchema = envelope(
  z.object({ percentComplete: z.number(), status: z.string() }),
);

/** Keys of an exported response that are its structure, not embedded data. */
const STRUCTURAL_KEYS = new Set([
  "responseId",
  "values",
  "labels",
  "displayedFields",
  "displayedValues",
]);
/** Fields Qualtrics itself puts in `values`; anything else there is an answer or embedded data. */
const BUILTIN_VALUE_KEYS = new Set([
  "startDate",
  "endDate",
  "status",
  "ipAddress",
  "progress",
  "duration",
  "finished",
  "recordedDate",
  "_recordedDate",
  "locationLatitude",
  "locationLongitude",
  "distributionChannel",
  "userLanguage",
  "recipientLastName",
  "recipientFirstName",
  "recipientEmail",
  "externalDataReference",
]);

function toEmbeddedString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * Merge embedded data from inside `values` and from beside it. With `embeddedDataIds` only those
 * keys are read; without, every key beside `values` plus non-builtin, non-question keys inside it.
 */
function normaliseExportedResponse(
  raw: z.infer<typeof exportFileSchema>["responses"][number],
  embeddedDataIds: readonly string[] | undefined,
): ExportedResponse {
  const beside: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw))
    if (!STRUCTURAL_KEYS.has(key)) beside[key] = value;
  const values: Record<string, unknown> = { ...beside, ...raw.values };
  const candidates = embeddedDataIds
    ? embeddedDataIds
    : [
        ...Object.keys(beside),
        ...Object.keys(raw.values).filter((k) => !BUILTIN_VALUE_KEYS.has(k) && !/^QID\d/.test(k)),
      ];
  const embeddedData: Record<string, string> = {};
  for (const key of candidates) {
    const text = toEmbeddedString(values[key]);
    if (text !== undefined) embeddedData[key] = text;
  }
  const finished = values.finished;
  const recorded = values.recordedDate;
  return {
    responseId: raw.responseId,
    finished: finished === 1 || finished === true || finished === "1" || finished === "true",
    recordedDate: typeof recorded === "string" ? recorded : undefined,
    values,
    embeddedData,
  };
}

function normaliseImportProgress(
  result: z.infer<typeof importProgressSchema>["result"],
): TransactionImportProgress {
  return {
    percentComplete: result.percentComplete,
    status: result.status,
    complete: result.percentComplete >= 100,
    contacts: {
      added: result.contacts?.count?.added ?? 0,
      updated: result.contacts?.count?.updated ?? 0,
      failed: result.contacts?.count?.failed ?? 0,
    },
    transactionsCreated: result.transactions?.count?.created ?? 0,
    invalidEmails: result.invalidEmails ?? [],
  };
}

// ---------- the client ----------

interface RequestSpec<S extends z.ZodType> {
  method: "GET" | "POST" | "PUT";
  path: string;
  body?: unknown;
  schema: S;
  /** False for a call that must not be repeated when its outcome is unknown. Default true. */
  idempotent?: boolean;
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: QualtricsError };

const PACING_WINDOW_MS = 60_000;

/**
 * Create a client. Give either `apiToken` or `oauth`.
 *
 * @example
 * const qualtrics = createQualtricsClient({ baseUrl: env.QUALTRICS_BASE_URL, apiToken: env.QUALTRICS_API_TOKEN, maxCalls: 200 });
 * const { batchId } = await qualtrics.createTransactionBatch(directoryId, new Date());
 */
export function createQualtricsClient(options: QualtricsClientOptions): QualtricsClient {
  if (!options.apiToken && !options.oauth)
    throw new TypeError("createQualtricsClient: give apiToken or oauth");
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const maxCalls = options.maxCalls ?? Number.POSITIVE_INFINITY;
  const maxCallsPerMinute = options.maxCallsPerMinute ?? BRAND_CALLS_PER_MINUTE;
  const retries = options.retries ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  // Bound to globalThis: Workers throw "Illegal invocation" for an unbound fetch.
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;

  let calls = 0;
  const sentAt: number[] = [];
  let pacing: Promise<void> = Promise.resolve();
  let token: { value: string; refreshAt: number } | undefined;
  let tokenRequest: Promise<string> | undefined;

  /**
   * Take one send slot: refuse past the budget, wait while the last minute already holds
   * `maxCallsPerMinute` sends. Serialised so concurrent callers cannot overrun the window.
   */
  function takeSlot(method: string, path: string): Promise<void> {
    const slot = pacing.then(async () => {
      if (calls >= maxCalls) throw new QualtricsBudgetError(maxCalls, method, path);
      if (sentAt.length >= maxCallsPerMinute) {
        const oldest = sentAt[sentAt.length - maxCallsPerMinute] ?? 0;
        const wait = oldest + PACING_WINDOW_MS - now();
        // One wait, not a loop: an injected clock that does not move must not spin forever.
        if (wait > 0) await sleep(wait);
      }
      calls += 1;
      sentAt.push(now());
      if (sentAt.length > maxCallsPerMinute) sentAt.splice(0, sentAt.length - maxCallsPerMinute);
    });
    pacing = slot.catch(() => undefined);
    return slot;
  }

  function backoffMs(retryIndex: number): number {
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retryIndex);
    return Math.floor(random() * ceiling); // full jitter
  }

  /** One HTTP exchange with a deadline covering headers and body. */
  async function exchange(
    url: string,
    init: RequestInit,
  ): Promise<{ status: number; text: string; retryAfter: string | null }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await doFetch(url, { ...init, signal: controller.signal });
      const text = await res.text();
      return { status: res.status, text, retryAfter: res.headers.get("Retry-After") };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Send with retries. `attemptOnce` turns one exchange into a value or a QualtricsError; only
   * retryable errors loop, and the last one is thrown with the number of attempts.
   */
  async function withRetries<T>(
    method: string,
    path: string,
    attemptOnce: () => Promise<{ status: number; text: string; retryAfter: string | null }>,
    interpret: (status: number, text: string, retryAfter: string | null) => Attempt<T>,
    onUnauthorized?: () => boolean,
    idempotent = true,
  ): Promise<T> {
    let attempts = 0;
    let refreshedToken = false;
    for (;;) {
      attempts += 1;
      let outcome: Attempt<T>;
      try {
        const reply = await attemptOnce();
        outcome = interpret(reply.status, reply.text, reply.retryAfter);
      } catch (err) {
        if (err instanceof QualtricsError) throw err;
        outcome = { ok: false, error: transportError(err, method, path) };
      }
      if (outcome.ok) return outcome.value;
      const error = outcome.error;
      // An OAuth token can be revoked or expire early: fetch a fresh one once, then give up.
      if (error.status === 401 && !refreshedToken && onUnauthorized?.()) {
        refreshedToken = true;
        continue;
      }
      // A 429 was refused before any work; anything else may have been done: never repeat it.
      if (!idempotent && error.retryable && error.status !== 429) {
        throw withAttempts(error, attempts, false, true);
      }
      const retriesUsed = attempts - 1;
      if (
        !error.retryable ||
        retriesUsed >= retries ||
        (error.retryAfterMs ?? 0) > maxRetryAfterMs
      ) {
        throw withAttempts(error, attempts, retriesUsed >= retries && error.retryable);
      }
      await sleep(error.retryAfterMs ?? backoffMs(retriesUsed));
    }
  }

  function withAttempts(
    error: QualtricsError,
    attempts: number,
    exhausted: boolean,
    ambiguous = false,
  ): QualtricsError {
    let message = error.message;
    if (exhausted) message = `${message} (gave up after ${attempts} attempts)`;
    if (ambiguous) message = `${message} (not repeated: Qualtrics may have done it)`;
    return new QualtricsError({
      status: error.status,
      errorCode: error.errorCode,
      message,
      requestId: error.requestId,
      retryable: error.retryable,
      retryAfterMs: error.retryAfterMs,
      attempts,
      ambiguous,
      ...(error.method !== undefined ? { method: error.method } : {}),
      ...(error.path !== undefined ? { path: error.path } : {}),
    });
  }

  function transportError(err: unknown, method: string, path: string): QualtricsError {
    const aborted =
      err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError");
    const detail = err instanceof Error ? err.message : String(err);
    return new QualtricsError({
      status: 0,
      errorCode: aborted ? "timeout" : "network_error",
      message: aborted
        ? `${method} ${path} timed out after ${timeoutMs} ms`
        : `${method} ${path} failed before an answer: ${detail}`,
      retryable: true,
      method,
      path,
    });
  }

  function httpError(
    status: number,
    text: string,
    retryAfter: string | null,
    method: string,
    path: string,
  ) {
    const retryable = status === 429 || status >= 500;
    const json = safeJson(text);
    const env = errorEnvelopeSchema.safeParse(json);
    const oauth = oauthErrorSchema.safeParse(json);
    let errorCode = `http_${status}`;
    let message = `${method} ${path} answered ${status}`;
    let requestId: string | undefined;
    if (env.success) {
      errorCode = env.data.meta.error.errorCode ?? errorCode;
      message = `${message}: ${env.data.meta.error.errorMessage ?? env.data.meta.httpStatus ?? ""}`;
      requestId = env.data.meta.requestId;
    } else if (oauth.success) {
      errorCode = oauth.data.error;
      message = `${message}: ${oauth.data.error_description ?? oauth.data.error}`;
    } else if (text) {
      message = `${message}: ${text.slice(0, 200)}`;
    }
    return new QualtricsError({
      status,
      errorCode,
      message,
      requestId,
      retryable,
      retryAfterMs: retryable ? parseRetryAfter(retryAfter, now()) : undefined,
      method,
      path,
    });
  }

  function invalidReply(
    method: string,
    path: string,
    status: number,
    detail: string,
    requestId?: string,
  ) {
    return new QualtricsError({
      status,
      errorCode: "invalid_response",
      message: `${method} ${path} answered ${status} with a body that does not match the contract: ${detail}`,
      requestId,
      retryable: false,
      method,
      path,
    });
  }

  function parseReply<S extends z.ZodType>(
    schema: S,
    status: number,
    text: string,
    retryAfter: string | null,
    method: string,
    path: string,
  ): Attempt<z.infer<S>> {
    if (status < 200 || status > 299)
      return { ok: false, error: httpError(status, text, retryAfter, method, path) };
    const json = safeJson(text);
    if (json === undefined)
      return { ok: false, error: invalidReply(method, path, status, "not JSON") };
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const requestId = z.object({ meta: z.object({ requestId: z.string() }) }).safeParse(json);
      return {
        ok: false,
        error: invalidReply(
          method,
          path,
          status,
          z.prettifyError(parsed.error),
          requestId.success ? requestId.data.meta.requestId : undefined,
        ),
      };
    }
    return { ok: true, value: parsed.data };
  }

  async function accessToken(): Promise<string> {
    const oauth = options.oauth;
    if (!oauth) throw new TypeError("unreachable: no OAuth configuration");
    if (token && now() < token.refreshAt) return token.value;
    // Concurrent callers share one token request.
    tokenRequest ??= fetchToken(oauth).finally(() => {
      tokenRequest = undefined;
    });
    return tokenRequest;
  }

  async function fetchToken(oauth: QualtricsOAuthOptions): Promise<string> {
    const path = new URL(oauth.tokenUrl).pathname;
    const form = new URLSearchParams({ grant_type: "client_credentials", scope: oauth.scope });
    const basic = base64Utf8(`${oauth.clientId}:${oauth.clientSecret}`);
    const value = await withRetries(
      "POST",
      path,
      async () => {
        await takeSlot("POST", path);
        return exchange(oauth.tokenUrl, {
          method: "POST",
          headers: {
            Authorization: `Basic ${basic}`,
            "Content-Type": "application/x-www-form-urlencoded",
            Accept: "application/json",
          },
          body: form.toString(),
        });
      },
      (status, text, retryAfter) => parseReply(tokenSchema, status, text, retryAfter, "POST", path),
    );
    const lifetimeMs = value.expires_in * 1000;
    // Refresh a minute early, or at half-life for short tokens, so no request carries a dying token.
    const margin = Math.min(60_000, lifetimeMs / 2);
    token = { value: value.access_token, refreshAt: now() + lifetimeMs - margin };
    return value.access_token;
  }

  async function authHeaders(): Promise<Record<string, string>> {
    if (options.apiToken) return { "X-API-TOKEN": options.apiToken };
    return { Authorization: `Bearer ${await accessToken()}` };
  }

  async function request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>> {
    const url = `${baseUrl}${spec.path}`;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    return withRetries(
      spec.method,
      spec.path,
      async () => {
        const auth = await authHeaders();
        await takeSlot(spec.method, spec.path);
        const headers: Record<string, string> = { Accept: "application/json", ...auth };
        if (body !== undefined) headers["Content-Type"] = "application/json";
        return exchange(url, {
          method: spec.method,
          headers,
          ...(body !== undefined ? { body } : {}),
        });
      },
      (status, text, retryAfter) =>
        parseReply(spec.schema, status, text, retryAfter, spec.method, spec.path),
      () => {
        if (!options.oauth || options.apiToken) return false;
        token = undefined;
        return true;
      },
      spec.idempotent ?? true,
    );
  }

  function tooLarge(path: string, message: string): QualtricsError {
    return new QualtricsError({
      status: 0,
      errorCode: "request_too_large",
      message: `${message}; split it first (chunkTransactionContacts / chunkResponseUpdates)`,
      retryable: false,
      attempts: 0,
      method: "POST",
      path,
    });
  }

  const seg = encodeURIComponent;

  return {
    get calls() {
      return calls;
    },

    async createTransactionBatch(directoryId, creationDate) {
      const date = typeof creationDate === "string" ? creationDate : toQualtricsDate(creationDate);
      const { result } = await request({
        method: "POST",
        path: `/directories/${seg(directoryId)}/transactionbatches`,
        body: { transactionIds: [], creationDate: date },
        schema: batchSchema,
      });
      return { batchId: result.id };
    },

    async importTransactionContacts(directoryId, mailingListId, input) {
      const path = `/directories/${seg(directoryId)}/mailinglists/${seg(mailingListId)}/transactioncontacts`;
      // Refuse locally what Qualtrics would refuse: it costs no call and names the fix.
      if (input.contacts.length > MAX_CONTACTS_PER_IMPORT) {
        throw tooLarge(
          path,
          `${input.contacts.length} contacts is over ${MAX_CONTACTS_PER_IMPORT} per import`,
        );
      }
      const body = importBody(input);
      const size = utf8ByteLength(JSON.stringify(body));
      if (size >= MAX_REQUEST_BYTES)
        throw tooLarge(path, `import body is ${size} bytes, over 5 MB`);
      const { result } = await request({
        method: "POST",
        path,
        body,
        schema: importStartSchema,
        idempotent: false,
      });
      return {
        importId: result.id,
        trackingUrl: result.tracking?.url,
        status: result.status,
        unprocessed: result.contacts?.unprocessed ?? [],
      };
    },

    async getTransactionImport(directoryId, mailingListId, importId) {
      const { result } = await request({
        method: "GET",
        path: `/directories/${seg(directoryId)}/mailinglists/${seg(mailingListId)}/transactioncontacts/${seg(importId)}`,
        schema: importProgressSchema,
      });
      return normaliseImportProgress(result);
    },

    async getTransactionImportSummary(directoryId, mailingListId, importId) {
      const { result } = await request({
        method: "GET",
        path: `/directories/${seg(directoryId)}/mailinglists/${seg(mailingListId)}/transactioncontacts/${seg(importId)}/summary`,
        schema: importProgressSchema,
      });
      return normaliseImportProgress(result);
    },

    async startResponseExport(surveyId, start = {}) {
      const body: Record<string, unknown> = {
        format: "json",
        compress: false,
        allowContinuation: true,
        exportResponsesInProgress: false,
      };
      if (start.embeddedDataIds) body.embeddedDataIds = start.embeddedDataIds;
      if (start.continuationToken !== undefined) body.continuationToken = start.continuationToken;
      else if (start.startDate !== undefined) {
        body.startDate =
          start.startDate instanceof Date ? start.startDate.toISOString() : start.startDate;
      }
      const { result } = await request({
        method: "POST",
        path: `/surveys/${seg(surveyId)}/export-responses`,
        body,
        schema: exportStartSchema,
      });
      return result;
    },

    async getResponseExport(surveyId, progressId) {
      const { result } = await request({
        method: "GET",
        path: `/surveys/${seg(surveyId)}/export-responses/${seg(progressId)}`,
        schema: exportProgressSchema,
      });
      return {
        percentComplete: result.percentComplete,
        status: result.status,
        complete: result.status === "complete",
        failed: result.status === "failed",
        fileId: result.fileId,
        continuationToken: result.continuationToken,
      };
    },

    async getResponseExportFile(surveyId, fileId, fileOptions = {}) {
      const file = await request({
        method: "GET",
        path: `/surveys/${seg(surveyId)}/export-responses/${seg(fileId)}/file`,
        schema: exportFileSchema,
      });
      return file.responses.map((r) => normaliseExportedResponse(r, fileOptions.embeddedDataIds));
    },

    async startUpdateResponses(surveyId, updates, updateOptions = {}) {
      const path = `/surveys/${seg(surveyId)}/update-responses`;
      if (updates.length > MAX_UPDATES_PER_JOB) {
        throw tooLarge(path, `${updates.length} updates is over ${MAX_UPDATES_PER_JOB} per job`);
      }
      const body = updateBody(updates, updateOptions.ignoreMissingResponses ?? true);
      const size = utf8ByteLength(JSON.stringify(body));
      if (size >= MAX_REQUEST_BYTES)
        throw tooLarge(path, `update body is ${size} bytes, over 5 MB`);
      const { result } = await request({ method: "POST", path, body, schema: updateStartSchema });
      return { progressId: result.progressId };
    },

    async getUpdateResponses(surveyId, progressId) {
      const { result } = await request({
        method: "GET",
        path: `/surveys/${seg(surveyId)}/update-responses/${seg(progressId)}`,
        schema: updateProgressSchema,
      });
      return {
        percentComplete: result.percentComplete,
        status: result.status,
        complete: result.status === "complete",
        failed: result.status === "failed",
      };
    },
  };
}

function safeJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** btoa only takes Latin-1; encode UTF-8 first so any client id or secret survives. */
function base64Utf8(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
