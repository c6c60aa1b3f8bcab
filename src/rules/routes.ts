/**
 * The opt-out API (scope `optouts:write`; `admin` holds it too): record "do not survey" for a
 * customer, lift it, and say what is recorded. The customer id travels only in JSON bodies and is
 * never logged or stored (only its keyed hash).
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireScope } from "../http/auth";
import type { AppEnv } from "../http/context";
import { invalidRequest } from "../http/errors";
import { jsonBody, ONE_LINK_LIMIT } from "../http/json-body";
import { apiKeyAuth, createRouter, errorResponses } from "../http/openapi";
import { placementCounts } from "../store/shard-counts";
import { lookUpOptOut, type OptOutContext, recordOptOut, removeOptOut } from "./opt-outs";
import { OptOutCustomerSchema, OptOutRequestSchema, OptOutStatusSchema } from "./schema";

const requireOptOuts = requireScope("optouts:write");

async function optOutContext(c: Context<AppEnv>): Promise<OptOutContext> {
  const config = c.get("config");
  const store = c.get("store");
  const { everServed } = await placementCounts(store, config);
  return { config, store, earlierShardCounts: everServed };
}

const answer = {
  description: "What is recorded for the customer now",
  content: { "application/json": { schema: OptOutStatusSchema } },
};

const route = (path: string, operationId: string, summary: string, description: string) => ({
  method: "post" as const,
  path,
  operationId,
  tags: ["Opt-outs"],
  summary,
  ...apiKeyAuth("optouts:write", description),
  middleware: [requireOptOuts, jsonBody(ONE_LINK_LIMIT)],
  responses: { 200: answer, ...errorResponses(400, 401, 403, 413, 415) },
});

const recordRoute = createRoute({
  ...route(
    "/v1/opt-outs",
    "recordOptOut",
    "Record that a customer is not to be surveyed (every survey, or the ones listed)",
    "Stored as a keyed hash of the customer id, never the id; kept through a privacy erasure. " +
      "A second opt-out adds its surveys to the first. Issue calls for the customer then answer " +
      '`{"status": "suppressed", "reason": "opted_out"}`.',
  ),
  request: {
    body: { required: true, content: { "application/json": { schema: OptOutRequestSchema } } },
  },
});

const removeRoute = createRoute({
  ...route(
    "/v1/opt-outs/removals",
    "removeOptOut",
    "Lift a customer's opt-out (every survey)",
    "Decisions already recorded stay as they were: a retried call answers as it did.",
  ),
  request: {
    body: { required: true, content: { "application/json": { schema: OptOutCustomerSchema } } },
  },
});

const lookupRoute = createRoute({
  ...route(
    "/v1/opt-outs/lookup",
    "lookUpOptOut",
    "What is recorded for a customer",
    "The customer id goes in the body, never in the URL.",
  ),
  request: {
    body: { required: true, content: { "application/json": { schema: OptOutCustomerSchema } } },
  },
});

export const optOutRoutes = createRouter()
  .openapi(recordRoute, async (c) => {
    const { customerId, surveys } = c.req.valid("json");
    const known = c.get("config").surveys;
    const unknown = (surveys ?? [])
      .map((key, at) => ({ key, at }))
      .filter(({ key }) => !known.has(key));
    if (unknown.length > 0) {
      throw invalidRequest(
        unknown.map(({ key, at }) => ({
          path: `surveys.${at}`,
          message: `unknown survey "${key}"`,
        })),
      );
    }
    const ctx = await optOutContext(c);
    return c.json(await recordOptOut(ctx, customerId, surveys ?? null, Date.now()), 200);
  })
  .openapi(removeRoute, async (c) => {
    const ctx = await optOutContext(c);
    return c.json(await removeOptOut(ctx, c.req.valid("json").customerId), 200);
  })
  .openapi(lookupRoute, async (c) => {
    const ctx = await optOutContext(c);
    return c.json(await lookUpOptOut(ctx, c.req.valid("json").customerId), 200);
  });
