/**
 * The links API for the notification platform: issue one, issue a batch, read status, revoke.
 * Routes validate and delegate; SQL lives in the ledger, signing in tokens.
 */

import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { log } from "../core/log";
import { requireScope } from "../http/auth";
import type { AppEnv } from "../http/context";
import { ApiError, unknownOrPurged, zodDetails } from "../http/errors";
import { BATCH_LIMIT, jsonBody, ONE_LINK_LIMIT } from "../http/json-body";
import { apiKeyAuth, createRouter, errorResponses } from "../http/openapi";
import { overRateLimit } from "../http/rate-limit";
import { SuppressedAnswerSchema } from "../rules";
import type { InviteRow } from "../store/invite-rows";
import { iso, isoOrNull, linkStatus } from "../store/link-status";
import { findInvite, revokeInvite } from "../store/links";
import { placementCounts } from "../store/shard-counts";
import { isInviteId } from "../tokens/ids";
import { notifySuppressed } from "../webhooks";
import { type IssueContext, type IssueResult, invalidLink, issueLinks } from "./issue";
import {
  BatchRequestSchema,
  BatchResponseSchema,
  IdParamSchema,
  type LinkRequest,
  LinkRequestSchema,
  LinkSchema,
  LinkStatusSchema,
} from "./schema";

/** The issue API's per-key rate limit (after auth, which names the key). */
const limitIssueCalls = createMiddleware<AppEnv>(async (c, next) => {
  const wait = await overRateLimit(c.get("config"), c.env.ISSUE_LIMITER, c.get("apiKey").id);
  if (wait !== null) {
    throw new ApiError(429, "rate_limited", "Too many issue calls; slow down.", undefined, {
      "Retry-After": String(wait),
    });
  }
  await next();
});

const issueGuards = [requireScope("links:write"), limitIssueCalls] as const;

/** What issuing needs from the request, with the shard counts earlier calls may have used. */
async function issueContext(c: Context<AppEnv>): Promise<IssueContext> {
  const config = c.get("config");
  const store = c.get("store");
  // Cached per isolate: the config check of this request has just read it.
  const counts = await placementCounts(store, config);
  return {
    config,
    store,
    origin: config.publicBaseUrl ?? new URL(c.req.url).origin,
    now: Date.now(),
    earlierShardCounts: counts.earlier,
    everServedShardCounts: counts.everServed,
    background: (work) => c.executionCtx.waitUntil(work),
    onSuppressed: (suppression) => notifySuppressed(c.env, c.executionCtx, suppression),
  };
}

const issueRoute = createRoute({
  method: "post",
  path: "/v1/links",
  operationId: "issueLink",
  tags: ["Links"],
  summary: "Issue a signed, single-use survey link for one trigger event",
  ...apiKeyAuth(
    "links:write",
    "Idempotent on (survey, transactionId): the same request again answers 200 with the same " +
      "link; a different request for the same pair answers 409. A request the contact rules, " +
      "sampling, daily cap or an opt-out suppress answers 200 with `status: suppressed` and no " +
      "link: send nothing (its retry answers the same). Body limit 64 KB.",
  ),
  middleware: [...issueGuards, jsonBody(ONE_LINK_LIMIT)],
  request: {
    body: { required: true, content: { "application/json": { schema: LinkRequestSchema } } },
  },
  responses: {
    201: { description: "Issued", content: { "application/json": { schema: LinkSchema } } },
    200: {
      description:
        "The same request again: the same link; or suppressed (no link exists: send nothing)",
      content: {
        "application/json": { schema: z.union([LinkSchema, SuppressedAnswerSchema]) },
      },
    },
    ...errorResponses(400, 401, 403, 409, 413, 415, 429),
  },
});

const batchRoute = createRoute({
  method: "post",
  path: "/v1/links/batch",
  operationId: "issueLinks",
  tags: ["Links"],
  summary: "Issue up to 500 links; one result per item, in order",
  ...apiKeyAuth(
    "links:write",
    "Each item is a `LinkRequest` and gets its own result with the status a single call would " +
      "have answered, so one bad item does not fail the batch. Body limit 1 MB.",
  ),
  middleware: [...issueGuards, jsonBody(BATCH_LIMIT)],
  request: {
    body: { required: true, content: { "application/json": { schema: BatchRequestSchema } } },
  },
  responses: {
    200: {
      description: "Results",
      content: { "application/json": { schema: BatchResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415, 429),
  },
});

const statusRoute = createRoute({
  method: "get",
  path: "/v1/links/{id}",
  operationId: "getLink",
  tags: ["Links"],
  summary: "A link's status, timestamps and counts",
  ...apiKeyAuth("links:read"),
  middleware: [requireScope("links:read")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: { description: "Status", content: { "application/json": { schema: LinkStatusSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

const revokeRoute = createRoute({
  method: "delete",
  path: "/v1/links/{id}",
  operationId: "revokeLink",
  tags: ["Links"],
  summary: "Revoke a link; later taps get the revoked page",
  ...apiKeyAuth(
    "links:write",
    "A link that already expired unopened cannot be revoked: `409 conflict`, and it stays " +
      "`expired` (in its status and in past stats).",
  ),
  middleware: [requireScope("links:write")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: {
      description: "Revoked (again: revoking twice changes nothing more)",
      content: { "application/json": { schema: LinkStatusSchema } },
    },
    ...errorResponses(401, 403, 404, 409),
  },
});

const notFound = () => unknownOrPurged("link");

/** A single call's answer: the link, the suppression, or the error thrown as its envelope. */
function single(result: IssueResult | undefined) {
  if (!result) throw new Error("issueLinks returns one result per request");
  if ("error" in result) {
    throw new ApiError(
      result.status,
      result.error.code,
      result.error.message,
      result.error.details,
    );
  }
  return result;
}

export const linkRoutes = createRouter()
  .openapi(issueRoute, async (c) => {
    const [result] = await issueLinks(await issueContext(c), [c.req.valid("json")]);
    const answer = single(result);
    if ("suppressed" in answer) return c.json(answer.suppressed, 200);
    return c.json(answer.link, answer.status);
  })
  .openapi(batchRoute, async (c) => {
    const items = c.req.valid("json").links;
    const valid: { index: number; request: LinkRequest }[] = [];
    const results: ({ index: number } & IssueResult)[] = [];
    items.forEach((item, index) => {
      const parsed = LinkRequestSchema.safeParse(item);
      if (parsed.success) valid.push({ index, request: parsed.data });
      else results[index] = { index, ...invalidLink(zodDetails(parsed.error)) };
    });
    const issued = await issueLinks(
      await issueContext(c),
      valid.map((v) => v.request),
    );
    valid.forEach(({ index }, i) => {
      const result = issued[i];
      if (result) results[index] = { index, ...result };
    });
    log("links_batch_issued", {
      requestId: c.get("requestId"),
      apiKeyId: c.get("apiKey").id,
      items: items.length,
      created: results.filter((r) => r.status === 201).length,
    });
    return c.json({ results }, 200);
  })
  .openapi(statusRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!isInviteId(id)) throw notFound();
    const row = await findInvite(c.get("store"), id);
    if (!row) throw notFound();
    return c.json(statusBody(row, c.get("config").surveys), 200);
  })
  .openapi(revokeRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!isInviteId(id)) throw notFound();
    const result = await revokeInvite(c.get("store"), id, Date.now());
    if (!result) throw notFound();
    if (!result.revoked) {
      throw new ApiError(409, "conflict", "The link expired unopened; it stays expired.", [
        { path: "id", message: "expired before it was revoked" },
      ]);
    }
    const { row } = result;
    log("link_revoked", {
      requestId: c.get("requestId"),
      inviteId: id,
      apiKeyId: c.get("apiKey").id,
    });
    return c.json(statusBody(row, c.get("config").surveys), 200);
  });

function statusBody(row: InviteRow, surveys: ReadonlyMap<string, unknown>) {
  return {
    id: row.id,
    survey: row.survey,
    transactionId: row.transaction_id,
    trigger: row.trigger,
    channel: row.channel,
    language: row.language,
    status: linkStatus(row, Date.now(), surveys),
    issuedAt: iso(row.issued_at),
    expiresAt: iso(row.expires_at),
    openedAt: isoOrNull(row.consumed_at),
    revokedAt: isoOrNull(row.revoked_at),
    completedAt: isoOrNull(row.completed_at),
    erasedAt: isoOrNull(row.erased_at),
    reopens: row.reopen_count,
    blocked: row.blocked_count,
    previews: row.preview_count,
  };
}
