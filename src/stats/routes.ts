/**
 * `GET /v1/stats` for analysts (scope `stats:read`): JSON by default, CSV with `?format=csv` or
 * when `Accept` prefers `text/csv` (q-values respected). The route validates and negotiates;
 * counting lives in the ledger.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { requireScope } from "../http/auth";
import type { AppEnv } from "../http/context";
import { invalidRequest } from "../http/errors";
import { apiKeyAuth, createRouter, errorResponses } from "../http/openapi";
import { csvFilename, statsCsv } from "./csv";
import { inviteStats } from "./report";
import { StatsQuerySchema, StatsSchema } from "./schema";

const statsRoute = createRoute({
  method: "get",
  path: "/v1/stats",
  operationId: "getStats",
  tags: ["Stats"],
  summary: "Invite counts, rates and time to open, grouped by day, survey, trigger or channel",
  ...apiKeyAuth(
    "stats:read",
    "Invites are counted by issue time. `opened`, `revoked` and `expired` never overlap; what " +
      "remains of `issued` is still live. CSV has the same table, a header row and a `(total)` row.",
  ),
  middleware: [requireScope("stats:read")] as const,
  request: { query: StatsQuerySchema },
  responses: {
    200: {
      description: "Stats",
      content: {
        "application/json": { schema: StatsSchema },
        "text/csv": { schema: z.string().openapi({ description: "The same table as CSV" }) },
      },
    },
    ...errorResponses(400, 401, 403),
  },
});

/** Unknown query parameters are named in the error, not reported as "(body)". */
function queryErrors(error: z.ZodError) {
  return error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((name) => ({ path: name, message: "is not a known query parameter" }))
      : [{ path: issue.path.map(String).join(".") || "(query)", message: issue.message }],
  );
}

/** `format` decides; else the `Accept` type with the highest q-value (ties: the first listed). */
function wantsCsv(c: Context<AppEnv>, format: string | undefined): boolean {
  if (format) return format === "csv";
  const type = accepts(c, {
    header: "Accept",
    supports: ["application/json", "text/csv"],
    default: "application/json",
  });
  return type === "text/csv";
}

export const statsRoutes = createRouter().openapi(
  statsRoute,
  async (c) => {
    const query = c.req.valid("query");
    if (query.survey !== undefined && !c.get("config").surveys.has(query.survey)) {
      throw invalidRequest(
        [{ path: "survey", message: `unknown survey "${query.survey}"` }],
        "The query is invalid.",
      );
    }
    const stats = await inviteStats(c.get("store"), query, Date.now());
    if (wantsCsv(c, query.format)) {
      return c.body(statsCsv(stats), 200, {
        "Content-Type": "text/csv; charset=utf-8; header=present",
        "Content-Disposition": `attachment; filename="${csvFilename(stats)}"`,
        "Cache-Control": "no-store",
      });
    }
    return c.json(stats, 200, { "Cache-Control": "no-store" });
  },
  (result) => {
    if (!result.success) throw invalidRequest(queryErrors(result.error), "The query is invalid.");
    return undefined; // valid: the handler answers
  },
);
