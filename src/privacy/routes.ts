/**
 * The privacy API for operators answering a customer's request (scope `privacy`; `admin` holds
 * it too): find a customer's invites, erase their personal data, and list past erasures. The
 * customer id travels only in JSON bodies (never in a path or query string, which access logs
 * keep) and is never logged; answers carrying personal data are not cached.
 */
import { createRoute } from "@hono/zod-openapi";
import { describeError, log } from "../core/log";
import { requireScope } from "../http/auth";
import { ApiError, invalidRequest } from "../http/errors";
import { jsonBody, ONE_LINK_LIMIT } from "../http/json-body";
import { apiKeyAuth, createRouter, errorResponses } from "../http/openapi";
import { findContactRecords } from "../rules";
import { STORE_RETRY_AFTER_SECONDS } from "../store/failures";
import { placementCounts } from "../store/shard-counts";
import { controlDb } from "../store/store";
import { findCustomerInvitesPage, ShardsUnreachable } from "./across-shards";
import { decodeCursor, encodeCursor } from "./cursor";
import { eraseCustomer } from "./erasure";
import { listErasures } from "./erasure-records";
import {
  customerInviteBody,
  ErasureListSchema,
  ErasureRequestSchema,
  ErasureResultSchema,
  ErasuresQuerySchema,
  erasureBody,
  erasureResultBody,
  LookupRequestSchema,
  LookupResponseSchema,
} from "./schema";

const requirePrivacy = requireScope("privacy");

const lookupRoute = createRoute({
  method: "post",
  path: "/v1/privacy/lookup",
  operationId: "lookupCustomer",
  tags: ["Privacy"],
  summary: "Find one customer's invites (what invite-edge holds about them), paged",
  ...apiKeyAuth(
    "privacy",
    "The customer id goes in the body, never in the URL. Invites whose personal data was " +
      "already deleted (retention or erasure) no longer carry the customer id and are not listed.",
  ),
  middleware: [requirePrivacy, jsonBody(ONE_LINK_LIMIT)] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: LookupRequestSchema } } },
  },
  responses: {
    200: {
      description: "The customer's invites, oldest first",
      content: { "application/json": { schema: LookupResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

const eraseRoute = createRoute({
  method: "post",
  path: "/v1/privacy/erasures",
  operationId: "eraseCustomer",
  tags: ["Privacy"],
  summary: "Erase one customer's personal data now, keeping every count",
  ...apiKeyAuth(
    "privacy",
    "Idempotent: the same request again finishes an interrupted erasure (a 503 or a 202), and " +
      "once done answers 200 with zero. Lists the invites that reached Qualtrics and the " +
      "responses that completed them, to erase there too.",
  ),
  middleware: [requirePrivacy, jsonBody(ONE_LINK_LIMIT)] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: ErasureRequestSchema } } },
  },
  responses: {
    200: {
      description: "Done: every invite of the customer is erased",
      content: { "application/json": { schema: ErasureResultSchema } },
    },
    202: {
      description: "Not finished (the request's limit was reached): send the same request again",
      content: { "application/json": { schema: ErasureResultSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

const erasuresRoute = createRoute({
  method: "get",
  path: "/v1/privacy/erasures",
  operationId: "listErasures",
  tags: ["Privacy"],
  summary: "The erasures requested, newest first: when, by which key, how many invites",
  ...apiKeyAuth(
    "privacy",
    "The audit trail. It holds no customer id and nothing that could be matched to one.",
  ),
  middleware: [requirePrivacy] as const,
  request: { query: ErasuresQuerySchema },
  responses: {
    200: {
      description: "Erasures",
      content: { "application/json": { schema: ErasureListSchema } },
    },
    ...errorResponses(400, 401, 403),
  },
});

/** Nothing is listed or marked done while a shard that may hold the customer's invites is out. */
function unreachable(error: ShardsUnreachable): ApiError {
  return new ApiError(
    503,
    "unavailable",
    "Some shards that may hold the customer's invites cannot be read: nothing was listed or " +
      "marked done. LEDGER_SHARDS is lower than the shard count this ledger served; an operator " +
      "must set it back, then send the same request again.",
    error.shards.map((shard) => ({ path: "(ledger)", message: `shard ${shard} cannot be read` })),
    { "Retry-After": String(STORE_RETRY_AFTER_SECONDS) },
  );
}

function position(cursor: string | undefined) {
  if (cursor === undefined) return null;
  const decoded = decodeCursor(cursor);
  if (!decoded) throw invalidRequest([{ path: "cursor", message: "not a cursor of this list" }]);
  return decoded;
}

export const privacyRoutes = createRouter()
  .openapi(lookupRoute, async (c) => {
    const { customerId, cursor, limit } = c.req.valid("json");
    const after = position(cursor);
    const page = await findCustomerInvitesPage(
      c.get("store"),
      customerId,
      after && { issuedAt: after.at, id: after.id },
      limit,
    ).catch((error: unknown) => {
      throw error instanceof ShardsUnreachable ? unreachable(error) : error;
    });
    const last = page.invites.at(-1);
    // Contact records on the first page only: they are not paged.
    const store = c.get("store");
    const config = c.get("config");
    const contact =
      after === null
        ? await findContactRecords(
            store,
            config,
            (await placementCounts(store, config)).everServed,
            customerId,
          )
        : undefined;
    log("privacy_lookup", {
      requestId: c.get("requestId"),
      apiKeyId: c.get("apiKey").id,
      invites: page.invites.length,
    });
    c.header("Cache-Control", "no-store");
    const now = Date.now();
    return c.json(
      {
        invites: page.invites.map((row) => customerInviteBody(row, now, c.get("config").surveys)),
        nextCursor: page.more && last ? encodeCursor({ at: last.issued_at, id: last.id }) : null,
        ...(contact ? { contact } : {}),
      },
      200,
    );
  })
  .openapi(eraseRoute, async (c) => {
    const { customerId } = c.req.valid("json");
    const apiKeyId = c.get("apiKey").id;
    let outcome: Awaited<ReturnType<typeof eraseCustomer>>;
    try {
      outcome = await eraseCustomer(c.get("store"), c.get("config"), customerId, apiKeyId);
    } catch (error) {
      log("privacy_erasure_failed", {
        requestId: c.get("requestId"),
        apiKeyId,
        error: describeError(error),
      });
      if (error instanceof ShardsUnreachable) throw unreachable(error);
      throw new ApiError(
        503,
        "unavailable",
        "The erasure was interrupted; send the same request again to finish it.",
        undefined,
        { "Retry-After": String(STORE_RETRY_AFTER_SECONDS) },
      );
    }
    const body = erasureResultBody(c.get("config"), outcome);
    log("privacy_erasure", {
      requestId: c.get("requestId"),
      apiKeyId,
      erasureId: body.erasureId,
      done: body.done,
      erased: body.erased,
      pushed: body.pushed,
    });
    c.header("Cache-Control", "no-store");
    return c.json(body, body.done ? 200 : 202);
  })
  .openapi(erasuresRoute, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const before = position(cursor);
    const rows = await listErasures(
      controlDb(c.get("store")),
      before && { requestedAt: before.at, id: before.id },
      limit + 1,
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json(
      {
        erasures: page.map(erasureBody),
        nextCursor:
          rows.length > limit && last ? encodeCursor({ at: last.requested_at, id: last.id }) : null,
      },
      200,
    );
  });
