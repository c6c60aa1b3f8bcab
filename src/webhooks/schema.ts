/** The zod models of the deliveries API: the list of deliveries and counters, and replay. */
import { z } from "@hono/zod-openapi";
import { WEBHOOK_EVENT_TYPES } from "../config/webhooks";
import { iso } from "../store/link-status";
import { readEventMessage } from "./events";
import { type CounterRow, DELIVERY_STATUSES, type DeliveryRow } from "./storage/deliveries";

export const DeliveriesQuerySchema = z.object({
  status: z.enum(DELIVERY_STATUSES).optional().openapi({
    description: "Only deliveries in this state",
    example: "dead",
  }),
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ example: 50 }),
});

const EventSchema = z
  .object({
    type: z.enum(WEBHOOK_EVENT_TYPES),
    timestamp: z.string().openapi({ example: "2026-12-08T10:00:00.000Z" }),
    data: z.record(z.string(), z.unknown()).openapi({
      description:
        "inviteId, survey, transactionId, trigger, channel, issuedAt, expiresAt, and openedAt " +
        "and completedAt when known; invite.suppressed: survey, transactionId, trigger, reason",
    }),
  })
  .openapi("WebhookEvent");

const DeliverySchema = z
  .object({
    eventId: z.string().openapi({
      description: "The event's `webhook-id`, the same on every retry and replay",
      example: "msg_AAc11cUpE6JTu4hDsIWxl_Xg_opened",
    }),
    subscription: z.string().nullable().openapi({
      description: "The WEBHOOKS entry's id; null for an event that reached none",
      example: "crm",
    }),
    type: z.enum(WEBHOOK_EVENT_TYPES),
    status: z.enum(DELIVERY_STATUSES).openapi({
      description:
        "failing: an attempt failed and the queue retries it with backoff. dead: the retries " +
        "ran out (about 24 h); replay sends it again. replayed: sent again, not yet delivered. " +
        "delivered: delivered after failing",
    }),
    attempts: z.number().int(),
    lastError: z.string().nullable().openapi({ example: "HTTP 503" }),
    createdAt: z.string(),
    updatedAt: z.string(),
    event: EventSchema.nullable(),
  })
  .openapi("WebhookDelivery");

const CounterSchema = z
  .object({
    day: z.string().openapi({ example: "2026-12-08" }),
    subscription: z.string().openapi({ description: "'' for events that reached none" }),
    delivered: z.number().int(),
    failed: z.number().int().openapi({ description: "Failed attempts (each retry counts)" }),
    dead: z.number().int(),
  })
  .openapi("WebhookCounters");

export const DeliveryListSchema = z
  .object({
    deliveries: z.array(DeliverySchema),
    counters: z.array(CounterSchema).openapi({ description: "The last 7 days, newest first" }),
  })
  .openapi("WebhookDeliveryList");

export const ReplayBodySchema = z
  .object({
    ids: z
      .array(z.string().min(1).max(100))
      .min(1)
      .max(100)
      .openapi({ example: ["msg_AAc11cUpE6JTu4hDsIWxl_Xg_opened"] }),
    subscription: z.string().optional().openapi({
      description:
        "Only this subscription's deliveries of these events (default: every one that failed)",
      example: "crm",
    }),
  })
  .strict()
  .openapi("WebhookReplayRequest");

export const ReplayAnswerSchema = z
  .object({
    replayed: z.array(z.object({ eventId: z.string(), subscription: z.string().nullable() })),
    notFound: z.array(z.string()).openapi({
      description: "Ids with no failed or dead delivery to send again",
    }),
  })
  .openapi("WebhookReplayResult");

export function deliveryAnswer(row: DeliveryRow): z.infer<typeof DeliverySchema> {
  const parsed = readEventMessage({ event: JSON.parse(row.body) });
  return {
    eventId: row.event_id,
    subscription: row.subscription === "" ? null : row.subscription,
    type: row.type as z.infer<typeof DeliverySchema>["type"],
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    event: parsed
      ? {
          type: parsed.event.type,
          timestamp: parsed.event.timestamp,
          data: { ...parsed.event.data },
        }
      : null,
  };
}

export const counterAnswer = (row: CounterRow): z.infer<typeof CounterSchema> => ({
  day: iso(row.day * 86_400_000).slice(0, 10),
  subscription: row.subscription,
  delivered: row.delivered,
  failed: row.failed,
  dead: row.dead,
});
