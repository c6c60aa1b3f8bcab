/**
 * The replies Qualtrics sends, as zod schemas: the success envelope `{result, meta}` around each
 * endpoint's result, the error envelope, and the OAuth token endpoint's own shapes. A reply that
 * does not match is an `invalid_response` error, never data. Counts Qualtrics leaves out read as 0.
 */
import { z } from "zod";

const metaSchema = z.object({ httpStatus: z.string(), requestId: z.string().optional() });

function envelope<T extends z.ZodType>(result: T) {
  return z.object({ result, meta: metaSchema });
}

export const errorEnvelopeSchema = z.object({
  meta: z.object({
    httpStatus: z.string().optional(),
    requestId: z.string().optional(),
    error: z.object({ errorCode: z.string().optional(), errorMessage: z.string().optional() }),
  }),
});

/** What a reply that failed its schema may still tell: the request id, for Qualtrics support. */
export const requestIdSchema = z.object({ meta: z.object({ requestId: z.string() }) });

/** OAuth 2.0 error shape (RFC 6749 §5.2), what a token endpoint answers instead of the envelope. */
export const oauthErrorSchema = z.object({
  error: z.string(),
  error_description: z.string().optional(),
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
    status: z.string().default("inProgress"),
    contacts: z
      .object({ unprocessed: z.array(z.number().int().nonnegative()).default([]) })
      .optional(),
  }),
);

export const importProgressSchema = envelope(
  z.object({
    percentComplete: z.number(),
    status: z.string().default(""),
    contacts: z
      .object({
        count: z.object({ added: count, updated: count, failed: count }).partial().optional(),
      })
      .optional(),
    transactions: z.object({ count: z.object({ created: count }).partial().optional() }).optional(),
  }),
);

export const exportStartSchema = envelope(z.object({ progressId: z.string().min(1) }));

export const exportProgressSchema = envelope(
  z.object({
    percentComplete: z.number(),
    status: z.string(),
    fileId: z.string().optional(),
    continuationToken: z.string().optional(),
  }),
);

export const updateStartSchema = envelope(z.object({ progressId: z.string().min(1) }));

export const updateProgressSchema = envelope(
  z.object({ percentComplete: z.number(), status: z.string() }),
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

/** Where an asynchronous job (export, update-responses) stands. */
export interface JobProgress {
  complete: boolean;
  failed: boolean;
}

export function jobProgress(result: { status: string }): JobProgress {
  return { complete: result.status === "complete", failed: result.status === "failed" };
}

export interface ResponseExportProgress extends JobProgress {
  fileId: string | undefined;
  continuationToken: string | undefined;
}
