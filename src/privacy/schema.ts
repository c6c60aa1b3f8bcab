/**
 * The zod models of the privacy API: lookup and erasure bodies (the customer id travels only in
 * JSON bodies, never in a URL), a customer's invites, erasure results and the audit trail.
 */
import { z } from "@hono/zod-openapi";
import type { Config } from "../config/config";
import { CustomerIdSchema } from "../links";
import { ContactRecordsSchema } from "../rules";
import { iso, isoOrNull, LINK_STATUSES, linkStatus } from "../store/link-status";
import type { EmbeddedValue } from "../tokens/invite-token";
import type { ErasureOutcome } from "./across-shards";
import type { CustomerInviteRow } from "./customer-invites";
import { ERASURE_STATUSES, type ErasureRow } from "./erasure-records";

const CursorSchema = z.string().min(1).max(400).openapi({
  description: "nextCursor of the previous page (opaque; carries no customer id)",
});

export const LookupRequestSchema = z
  .object({
    customerId: CustomerIdSchema,
    cursor: CursorSchema.optional(),
    limit: z.number().int().min(1).max(500).default(100).openapi({ example: 100 }),
  })
  .strict()
  .openapi("PrivacyLookupRequest");

export const ErasureRequestSchema = z
  .object({ customerId: CustomerIdSchema })
  .strict()
  .openapi("PrivacyErasureRequest");

/** A link's status, or `completed` once its survey response came back. */
const CUSTOMER_INVITE_STATUSES = [...LINK_STATUSES, "completed"] as const;

const CustomerInviteSchema = z
  .object({
    id: z.string(),
    survey: z.string(),
    transactionId: z.string(),
    trigger: z.string(),
    channel: z.string().nullable(),
    embeddedData: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    status: z.enum(CUSTOMER_INVITE_STATUSES),
    issuedAt: z.string(),
    expiresAt: z.string(),
    openedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    pushedToQualtrics: z.boolean().openapi({
      description:
        "Sent to XM Directory, or in an import that may have reached it (in flight, outcome unknown)",
    }),
    qualtricsResponseId: z
      .string()
      .nullable()
      .openapi({ description: "The survey response that completed it, when known" }),
    qualtricsDuplicateResponseIds: z.array(z.string()).openapi({
      description:
        "Later responses to it after it was completed (stamped invite_duplicate = 1), when known",
    }),
  })
  .openapi("CustomerInvite");

export const LookupResponseSchema = z
  .object({
    invites: z.array(CustomerInviteSchema),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: "Send it as `cursor` for the next page; null on the last page" }),
    contact: ContactRecordsSchema.optional().openapi({
      description:
        "On the first page (added in 0.2.0): the customer's contact history, suppression " +
        "records and opt-out (docs/contact-rules.md)",
    }),
  })
  .openapi("PrivacyLookup");

export function customerInviteBody(
  row: CustomerInviteRow,
  now: number,
  surveys: ReadonlyMap<string, unknown>,
) {
  return {
    id: row.id,
    survey: row.survey,
    transactionId: row.transaction_id,
    trigger: row.trigger,
    channel: row.channel,
    embeddedData: row.embedded_data
      ? (JSON.parse(row.embedded_data) as Record<string, EmbeddedValue>)
      : {},
    status: row.completed_at !== null ? ("completed" as const) : linkStatus(row, now, surveys),
    issuedAt: iso(row.issued_at),
    expiresAt: iso(row.expires_at),
    openedAt: isoOrNull(row.consumed_at),
    revokedAt: isoOrNull(row.revoked_at),
    completedAt: isoOrNull(row.completed_at),
    pushedToQualtrics: row.pushed === 1,
    qualtricsResponseId: row.response_id,
    qualtricsDuplicateResponseIds: row.duplicate_response_ids
      ? (JSON.parse(row.duplicate_response_ids) as string[])
      : [],
  };
}

const ErasureSchema = z
  .object({
    id: z.string().openapi({ example: "era_Zx8c1kPq2m4TnY7w" }),
    apiKeyId: z.string().openapi({ description: "The API key that requested it" }),
    status: z.enum(ERASURE_STATUSES).openapi({
      description:
        "running: not finished (a request failed or stopped at its limit; send it again)",
    }),
    requestedAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    attempts: z.number().int().openapi({ description: "Requests that worked on it" }),
    erased: z.number().int().openapi({ description: "Invites erased" }),
    pushed: z.number().int().openapi({
      description: "Of those, pushed (or possibly pushed) to Qualtrics before the erasure",
    }),
  })
  .openapi("Erasure");

export function erasureBody(row: ErasureRow) {
  return {
    id: row.id,
    apiKeyId: row.api_key_id,
    status: row.status,
    requestedAt: iso(row.requested_at),
    updatedAt: iso(row.updated_at),
    finishedAt: isoOrNull(row.finished_at),
    attempts: row.attempts,
    erased: row.erased,
    pushed: row.pushed,
  };
}

export const ErasureResultSchema = z
  .object({
    erasureId: z.string(),
    done: z.boolean().openapi({
      description: "false (status 202): more invites are left; send the same request again",
    }),
    erased: z.number().int().openapi({ description: "Invites whose personal data was erased" }),
    pushed: z.number().int().openapi({
      description: "Of those, pushed (or possibly pushed) to Qualtrics: erase them there too",
    }),
    pushedInvites: z.array(z.string()).openapi({
      description: "Their invite ids (transactionData.invite_id of the XM Directory transactions)",
    }),
    responses: z
      .array(
        z.object({
          inviteId: z.string(),
          survey: z.string(),
          qualtricsSurveyId: z.string().nullable(),
          responseId: z.string(),
        }),
      )
      .openapi({
        description:
          "Survey responses to erased invites (the completing one and any duplicates): delete them too",
      }),
    requestedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("ErasureResult");

export function erasureResultBody(config: Config, outcome: ErasureOutcome) {
  const invites = Object.entries(outcome.invites).sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    erasureId: outcome.erasure.id,
    done: outcome.done,
    erased: outcome.erasure.erased,
    pushed: outcome.erasure.pushed,
    pushedInvites: invites.filter(([, invite]) => invite.pushed).map(([id]) => id),
    responses: invites.flatMap(([id, invite]) =>
      [
        ...(invite.responseId ? [invite.responseId] : []),
        ...(invite.duplicateResponseIds ?? []),
      ].map((responseId) => ({
        inviteId: id,
        survey: invite.survey,
        qualtricsSurveyId: config.surveys.get(invite.survey)?.qualtricsSurveyId ?? null,
        responseId,
      })),
    ),
    requestedAt: iso(outcome.erasure.requested_at),
    finishedAt: isoOrNull(outcome.erasure.finished_at),
  };
}

export const ErasuresQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ example: 100 }),
  cursor: CursorSchema.optional(),
});

export const ErasureListSchema = z
  .object({
    erasures: z.array(ErasureSchema),
    nextCursor: z.string().nullable(),
  })
  .openapi("Erasures");
