/**
 * The replies Qualtrics sends, as zod schemas: the success envelope `{result, meta}` around each
 * endpoint's result, the error envelope, and the OAuth token endpoint's own shapes.
 *
 * Read tolerantly, as the published examples demand: `null` wherever a field may be absent, a
 * `meta` without `httpStatus` (or none at all), extra fields ignored. Still strict about what a
 * step needs: an import without its id, an export progress without its status, a page without its
 * elements is an `invalid_response` error, never data. Counts Qualtrics leaves out read as 0.
 */
import { z } from "zod";

/** Absent, `null` or a value: the value, or undefined. */
function maybe<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((value) => value ?? undefined);
}

const metaSchema = maybe(z.object({ httpStatus: maybe(z.string()), requestId: maybe(z.string()) }));

function envelope<T extends z.ZodType>(result: T) {
  return z.object({ result, meta: metaSchema });
}

export const errorEnvelopeSchema = z.object({
  meta: z.object({
    httpStatus: maybe(z.string()),
    requestId: maybe(z.string()),
    error: z.object({ errorCode: maybe(z.string()), errorMessage: maybe(z.string()) }),
  }),
});

/** What a reply that failed its schema may still tell: the request id, for Qualtrics support. */
export const requestIdSchema = z.object({ meta: z.object({ requestId: z.string() }) });

/** OAuth 2.0 error shape (RFC 6749 §5.2), what a token endpoint answers instead of the envelope. */
export const oauthErrorSchema = z.object({
  error: z.string(),
  error_description: maybe(z.string()),
});

export const tokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === "bearer", "token_type must be Bearer"),
  expires_in: z.coerce.number().positive(),
});

const count = z.number().int().nonnegative().catch(0);

export const batchSchema = envelope(z.object({ id: z.string().min(1) }));

export const importStartSchema = envelope(
  z.object({
    id: z.string().min(1),
    status: maybe(z.string()),
    contacts: maybe(z.object({ unprocessed: maybe(z.array(z.number().int().nonnegative())) })),
  }),
);

export const importProgressSchema = envelope(
  z.object({
    percentComplete: z.number(),
    status: maybe(z.string()),
    contacts: maybe(
      z.object({
        count: maybe(z.object({ added: count, updated: count, failed: count })),
      }),
    ),
    transactions: maybe(z.object({ count: maybe(z.object({ created: count })) })),
  }),
);

/**
 * One page of a transaction batch's transactions. Where an element carries its transaction data
 * (beside `id` and `contactId`, or inside `transactionData` or `data`) is not settled: all are read.
 */
export const batchTransactionsSchema = envelope(
  z.object({
    elements: z.array(
      z.looseObject({
        id: maybe(z.string()),
        contactId: maybe(z.string()),
        transactionData: maybe(z.record(z.string(), z.unknown())),
        data: maybe(z.record(z.string(), z.unknown())),
      }),
    ),
    nextPage: maybe(z.string()),
  }),
);

export const exportStartSchema = envelope(z.object({ progressId: z.string().min(1) }));

export const exportProgressSchema = envelope(
  z.object({
    percentComplete: maybe(z.number()),
    status: z.string(),
    fileId: maybe(z.string().min(1)),
    continuationToken: maybe(z.string().min(1)),
  }),
);

export const updateStartSchema = envelope(z.object({ progressId: z.string().min(1) }));

/** An entry of an update job's `errors` or `warnings`: a string, or an object naming a response. */
const jobMessageSchema = z.union([
  z.string(),
  z.looseObject({
    responseId: maybe(z.string()),
    message: maybe(z.string()),
    errorMessage: maybe(z.string()),
    description: maybe(z.string()),
  }),
]);

export const updateProgressSchema = envelope(
  z.object({
    percentComplete: maybe(z.number()),
    status: z.string(),
    errorCount: count,
    errors: maybe(z.array(jobMessageSchema.catch("unreadable error entry"))),
    warningCount: count,
    warnings: maybe(z.array(jobMessageSchema.catch("unreadable warning entry"))),
  }),
);

export interface TransactionImportProgress {
  percentComplete: number;
  /** True at 100%: only then are the counts final. */
  complete: boolean;
  contacts: { added: number; updated: number; failed: number };
  transactionsCreated: number;
}

export function importProgress(
  result: z.infer<typeof importProgressSchema>["result"],
): TransactionImportProgress {
  return {
    percentComplete: result.percentComplete,
    complete: result.percentComplete >= 100,
    contacts: {
      added: result.contacts?.count?.added ?? 0,
      updated: result.contacts?.count?.updated ?? 0,
      failed: result.contacts?.count?.failed ?? 0,
    },
    transactionsCreated: result.transactions?.count?.created ?? 0,
  };
}

/** A transaction found in a batch: its ids and the invite its transaction data names. */
export interface BatchTransaction {
  transactionId: string | undefined;
  contactId: string | undefined;
  inviteId: string | undefined;
}

export function batchTransaction(
  element: z.infer<typeof batchTransactionsSchema>["result"]["elements"][number],
): BatchTransaction {
  const inviteId = [element.transactionData, element.data, element]
    .map((data) => data?.invite_id)
    .find((value): value is string => typeof value === "string");
  return { transactionId: element.id, contactId: element.contactId, inviteId };
}

/** Where an asynchronous job (export, update-responses) stands. */
interface JobProgress {
  complete: boolean;
  failed: boolean;
  /** Waiting behind another job of the same survey (update-responses). */
  queued: boolean;
}

export function jobProgress(result: { status: string }): JobProgress {
  return {
    complete: result.status === "complete",
    failed: result.status === "failed",
    queued: result.status === "queued",
  };
}

export interface ResponseExportProgress extends JobProgress {
  fileId: string | undefined;
  continuationToken: string | undefined;
}

/** An error or warning of an update job; `responseId` when it names the response it is about. */
interface JobMessage {
  responseId: string | undefined;
  message: string;
}

export interface UpdateJobProgress extends JobProgress {
  errorCount: number;
  errors: JobMessage[];
  warningCount: number;
  warnings: JobMessage[];
}

function jobMessage(entry: z.infer<typeof jobMessageSchema>): JobMessage {
  if (typeof entry === "string") return { responseId: undefined, message: entry };
  const message = entry.message ?? entry.errorMessage ?? entry.description ?? "no message given";
  return { responseId: entry.responseId, message };
}

export function updateJobProgress(
  result: z.infer<typeof updateProgressSchema>["result"],
): UpdateJobProgress {
  const errors = (result.errors ?? []).map(jobMessage);
  const warnings = (result.warnings ?? []).map(jobMessage);
  return {
    ...jobProgress(result),
    errorCount: Math.max(result.errorCount, errors.length),
    errors,
    warningCount: Math.max(result.warningCount, warnings.length),
    warnings,
  };
}
