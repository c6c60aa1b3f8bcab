/**
 * The zod models of who gets invited: the suppressed answer of an issue call, and the opt-out
 * API's bodies (the customer id travels only in JSON bodies, never in a URL).
 */
import { z } from "@hono/zod-openapi";
import { SUPPRESSION_REASONS, type SuppressionReason } from "./evaluate";

export const SuppressedAnswerSchema = z
  .object({
    status: z.literal("suppressed"),
    reason: z.enum(SUPPRESSION_REASONS).openapi({
      description:
        "Why no link was issued, checked in this order: `opted_out` (the customer asked not to " +
        "be surveyed), `sampled_out` (not in the survey's sample), `frequency` (a contact rule), " +
        "`cap` (the survey's daily cap). Do not send anything.",
    }),
    rule: z
      .string()
      .optional()
      .openapi({ description: "With `frequency`: the first rule that suppressed it" }),
    eligibleAt: z
      .string()
      .optional()
      .openapi({
        description:
          "With `frequency`: when the customer is eligible again under every rule; with `cap`: " +
          "the next UTC day",
        example: "2026-12-31T10:00:00.000Z",
      }),
    survey: z.string(),
    transactionId: z.string(),
  })
  .openapi("Suppressed");

export type SuppressedAnswer = z.infer<typeof SuppressedAnswerSchema>;

/** The suppressed answer of a recorded (or new) decision. */
export function suppressedAnswer(row: {
  survey: string;
  transaction_id: string;
  reason: SuppressionReason;
  rule: string | null;
  eligible_at: number | null;
}): SuppressedAnswer {
  return {
    status: "suppressed",
    reason: row.reason,
    ...(row.rule ? { rule: row.rule } : {}),
    ...(row.eligible_at !== null ? { eligibleAt: new Date(row.eligible_at).toISOString() } : {}),
    survey: row.survey,
    transactionId: row.transaction_id,
  };
}

/** The customer id as the issue call takes it; stored only as a keyed hash. */
const OptOutCustomerIdSchema = z.string().min(1).max(128).openapi({ example: "customer-42" });

export const OptOutRequestSchema = z
  .object({
    customerId: OptOutCustomerIdSchema,
    surveys: z
      .array(z.string().min(1).max(64))
      .min(1)
      .max(100)
      .optional()
      .openapi({ description: "The surveys not to invite to; default every survey" }),
  })
  .strict()
  .openapi("OptOutRequest");

export const OptOutCustomerSchema = z
  .object({ customerId: OptOutCustomerIdSchema })
  .strict()
  .openapi("OptOutCustomer");

export const OptOutStatusSchema = z
  .object({
    optedOut: z.boolean(),
    surveys: z
      .union([z.literal("all"), z.array(z.string())])
      .nullable()
      .openapi({ description: '`"all"` or the surveys listed; null when not opted out' }),
    since: z.string().nullable().openapi({ description: "When the first opt-out was recorded" }),
  })
  .openapi("OptOutStatus");

export type OptOutStatus = z.infer<typeof OptOutStatusSchema>;

/** A customer's contact records, as the privacy lookup lists them. */
export const ContactRecordsSchema = z
  .object({
    history: z
      .array(
        z.object({
          survey: z.string(),
          transactionId: z.string(),
          trigger: z.string(),
          outcome: z.enum(["issued", "suppressed"]),
          decidedAt: z.string(),
          openedAt: z.string().nullable(),
          completedAt: z.string().nullable(),
        }),
      )
      .openapi({
        description:
          "The contact history contact rules count (kept while rules exist, up to the longest rule window)",
      }),
    suppressions: z
      .array(
        z.object({
          survey: z.string(),
          transactionId: z.string(),
          trigger: z.string(),
          reason: z.enum(SUPPRESSION_REASONS),
          rule: z.string().nullable(),
          decidedAt: z.string(),
        }),
      )
      .openapi({
        description: "Issue requests not invited (with the customer id until RETENTION_DAYS)",
      }),
    optOut: OptOutStatusSchema.nullable().openapi({
      description: "The opt-out (kept through an erasure); null without CUSTOMER_HASH_KEY",
    }),
  })
  .openapi("ContactRecords");
