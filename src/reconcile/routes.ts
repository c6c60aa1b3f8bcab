/**
 * The reconcile API for operators (scope `admin`): run now, list runs with the push backlog, and
 * see and resolve imports whose outcome Qualtrics left unknown. Routes validate and delegate.
 */
import { createRoute } from "@hono/zod-openapi";
import { log } from "../core/log";
import { requireScope } from "../http/auth";
import { ApiError } from "../http/errors";
import { jsonBody, ONE_LINK_LIMIT } from "../http/json-body";
import { apiKeyAuth, createRouter, errorResponses } from "../http/openapi";
import { controlDb } from "../store/store";
import { MAX_PUSH_ATTEMPTS } from "./push";
import { runReconcile } from "./run";
import {
  ImportIdParamSchema,
  ImportListSchema,
  ImportSchema,
  ImportsQuerySchema,
  importAnswer,
  ResolveBodySchema,
  RunListSchema,
  RunSchema,
  RunsQuerySchema,
  runBody,
} from "./schema";
import { getImport, type ImportStatus, listImports } from "./storage/imports";
import { pushBacklog, resolveUnknownImport } from "./storage/push-queue";
import { listRuns } from "./storage/runs";

const runNowRoute = createRoute({
  method: "post",
  path: "/v1/reconcile",
  operationId: "runReconcile",
  tags: ["Reconcile"],
  summary: "Run a reconcile with Qualtrics now and return its record",
  ...apiKeyAuth(
    "admin",
    "Pushes queued invites to XM Directory, settles imports, reads completions and stamps " +
      "responses. A run while another holds the lease is recorded as skipped.",
  ),
  middleware: [requireScope("admin")] as const,
  responses: {
    200: {
      description: "The run's record",
      content: { "application/json": { schema: RunSchema } },
    },
    ...errorResponses(401, 403),
  },
});

const runsRoute = createRoute({
  method: "get",
  path: "/v1/reconcile/runs",
  operationId: "listReconcileRuns",
  tags: ["Reconcile"],
  summary: "Recent reconcile runs, newest first, and the invites still to push",
  ...apiKeyAuth("admin"),
  middleware: [requireScope("admin")] as const,
  request: { query: RunsQuerySchema },
  responses: {
    200: { description: "Runs", content: { "application/json": { schema: RunListSchema } } },
    ...errorResponses(400, 401, 403),
  },
});

const importsRoute = createRoute({
  method: "get",
  path: "/v1/reconcile/imports",
  operationId: "listReconcileImports",
  tags: ["Reconcile"],
  summary: "Imports to XM Directory (default: the open ones and those with an unknown outcome)",
  ...apiKeyAuth("admin"),
  middleware: [requireScope("admin")] as const,
  request: { query: ImportsQuerySchema },
  responses: {
    200: {
      description: "Imports, newest first",
      content: {
        "application/json": { schema: ImportListSchema },
      },
    },
    ...errorResponses(400, 401, 403),
  },
});

const resolveRoute = createRoute({
  method: "post",
  path: "/v1/reconcile/imports/{id}/resolve",
  operationId: "resolveReconcileImport",
  tags: ["Reconcile"],
  summary: "Say whether Qualtrics received an import whose outcome is unknown",
  ...apiKeyAuth(
    "admin",
    "Only an import whose outcome is `unknown` can be resolved; any other answers 409.",
  ),
  middleware: [requireScope("admin"), jsonBody(ONE_LINK_LIMIT)] as const,
  request: {
    params: ImportIdParamSchema,
    body: { required: true, content: { "application/json": { schema: ResolveBodySchema } } },
  },
  responses: {
    200: { description: "The import", content: { "application/json": { schema: ImportSchema } } },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

export const reconcileRoutes = createRouter()
  .openapi(runNowRoute, async (c) => {
    const run = await runReconcile(c.env, { trigger: "api", store: c.get("store") });
    return c.json(runBody(run), 200);
  })
  .openapi(runsRoute, async (c) => {
    const { limit } = c.req.valid("query");
    const store = c.get("store");
    const [runs, backlog] = await Promise.all([
      listRuns(controlDb(store), limit),
      pushBacklog(store, MAX_PUSH_ATTEMPTS),
    ]);
    return c.json({ runs: runs.map(runBody), backlog }, 200);
  })
  .openapi(importsRoute, async (c) => {
    const { status } = c.req.valid("query");
    const statuses: ImportStatus[] = status
      ? [status]
      : ["unknown", "reserving", "sending", "accepted"];
    const rows = await listImports(controlDb(c.get("store")), statuses, 200);
    return c.json({ imports: rows.map(importAnswer) }, 200);
  })
  .openapi(resolveRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { outcome } = c.req.valid("json");
    const store = c.get("store");
    const resolved = await resolveUnknownImport(store, id, outcome, Date.now());
    if (!resolved) {
      const existing = await getImport(controlDb(store), id);
      if (!existing) throw new ApiError(404, "not_found", "No import with this id.");
      throw new ApiError(
        409,
        "conflict",
        `Import ${id} is ${existing.status}; only an import with an unknown outcome can be resolved.`,
      );
    }
    log("reconcile_import_resolved", {
      requestId: c.get("requestId"),
      importId: id,
      outcome,
      apiKeyId: c.get("apiKey").id,
    });
    return c.json(importAnswer(resolved), 200);
  });
