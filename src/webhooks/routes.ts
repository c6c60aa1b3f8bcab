/**
 * The deliveries API for operators (scope `admin`): recent deliveries that failed, died or were
 * replayed, with counters per subscription and day; and replay by event id. Routes validate and
 * delegate.
 */
import { createRoute } from "@hono/zod-openapi";
import { log } from "../core/log";
import { requireScope } from "../http/auth";
import { ApiError } from "../http/errors";
import { jsonBody, ONE_LINK_LIMIT } from "../http/json-body";
import { apiKeyAuth, createRouter, errorResponses } from "../http/openapi";
import { controlDb } from "../store/store";
import { NoWebhookQueue, replayDeliveries } from "./replay";
import {
  counterAnswer,
  DeliveriesQuerySchema,
  DeliveryListSchema,
  deliveryAnswer,
  ReplayAnswerSchema,
  ReplayBodySchema,
} from "./schema";
import { listCounters, listDeliveries } from "./storage/deliveries";

/** Days of counters a listing shows. */
const COUNTER_DAYS = 7;

const listRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/deliveries",
  operationId: "listWebhookDeliveries",
  tags: ["Webhooks"],
  summary: "Recent webhook deliveries that failed, died or were replayed, and counters",
  ...apiKeyAuth(
    "admin",
    "Successful deliveries are only counted; a delivery is listed once an attempt failed. " +
      "Newest first. Stored events hold transaction ids and are deleted after RETENTION_DAYS " +
      "or with an erasure of their customer.",
  ),
  middleware: [requireScope("admin")] as const,
  request: { query: DeliveriesQuerySchema },
  responses: {
    200: {
      description: "Deliveries and counters",
      content: { "application/json": { schema: DeliveryListSchema } },
    },
    ...errorResponses(400, 401, 403),
  },
});

const replayRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/deliveries/replay",
  operationId: "replayWebhookDeliveries",
  tags: ["Webhooks"],
  summary: "Send failed or dead deliveries again, with the same webhook-id",
  ...apiKeyAuth(
    "admin",
    "Each failed or dead delivery of these events (of one subscription, when given) goes on " +
      "the queue again and is retried like a new one.",
  ),
  middleware: [requireScope("admin"), jsonBody(ONE_LINK_LIMIT)] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: ReplayBodySchema } } },
  },
  responses: {
    200: {
      description: "What was sent again",
      content: { "application/json": { schema: ReplayAnswerSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

export const webhookRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const { status, limit } = c.req.valid("query");
    const db = controlDb(c.get("store"));
    const today = Math.floor(Date.now() / 86_400_000);
    const [rows, counters] = await Promise.all([
      listDeliveries(db, { status, limit }),
      listCounters(db, today - COUNTER_DAYS + 1),
    ]);
    return c.json(
      { deliveries: rows.map(deliveryAnswer), counters: counters.map(counterAnswer) },
      200,
    );
  })
  .openapi(replayRoute, async (c) => {
    const { ids, subscription } = c.req.valid("json");
    try {
      const result = await replayDeliveries(c.env, c.get("store"), ids, subscription, Date.now());
      log("webhook_replay", {
        requestId: c.get("requestId"),
        apiKeyId: c.get("apiKey").id,
        replayed: result.replayed.length,
      });
      return c.json(result, 200);
    } catch (error) {
      if (!(error instanceof NoWebhookQueue)) throw error;
      throw new ApiError(503, "unavailable", "This deployment has no webhooks queue bound.");
    }
  });
