/**
 * The reconcile API for operators (scope `admin`): run now, list runs with the push backlog, see
 * and resolve imports whose outcome Qualtrics left unknown, and retry an invite reconcile stopped
 * trying (given up, or its stamp refused). Routes validate and delegate.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { log } from "../core/log";
import { requireScope } from "../http/auth";
import { ApiError, unknownOrPurged } from "../http/errors";
import { jsonBody, ONE_LINK_LIMIT } from "../http/json-body";
import { apiKeyAuth, createRouter, errorResponses } from "../http/openapi";
import { IdParamSchema } from "../links";
import { controlDb } from "../store/store";
import { isInviteId } from "../tokens/ids";
import { MAX_PUSH_ATTEMPTS } from "./push";
import { queueReconcile } from "./queued-runs";
import { runReconcile } from "./run";
import {
  ImportIdParamSchema,
  ImportListSchema,
  ImportSchema,
  ImportsQuerySchema,
  InviteStateSchema,
  importAnswer,
  inviteStateAnswer,
  ResolveBodySchema,
  RunIdParamSchema,
  RunListSchema,
  RunSchema,
  RunsQuerySchema,
  runBody,
} from "./schema";
import { getImport, type ImportStatus, listImports } from "./storage/imports";
import { pushBacklog, resolveUnknownImport } from "./storage/push-queue";
import { clearRefusals } from "./storage/refused-invites";
import { getRun, listRuns } from "./storage/runs";

const runNowRoute = createRoute({
  method: "post",
  path: "/v1/reconcile",
  operationId: "runReconcile",
  tags: ["Reconcile"],
  summary: "Run a reconcile with Qualtrics now and return its record",
  ...apiKeyAuth(
    "admin",
    "Pushes queued invites to XM Directory, settles imports, reads completions and stamps " +
      "responses. A run while another holds the lease is recorded as skipped. A run can take " +
      "20–25 s, longer than many gateways wait: with `Prefer: respond-async` the answer is " +
      "`202` at once, with the run `queued` and its `Location`; the run happens in the " +
      "reconcile queue's own invocation, and `GET` on the `Location` says when it is done.",
  ),
  middleware: [requireScope("admin")] as const,
  request: {
    headers: z.object({
      prefer: z.string().optional().openapi({
        description: "`respond-async`: answer 202 at once and run the reconcile from a queue.",
        example: "respond-async",
      }),
    }),
  },
  responses: {
    200: {
      description: "The run's record, once it ended",
      content: { "application/json": { schema: RunSchema } },
    },
    202: {
      description: "Queued (`Prefer: respond-async`): the run's record so far",
      headers: {
        Location: {
          description: "The run's record: `/v1/reconcile/runs/{id}`",
          schema: { type: "string" },
        },
        "Preference-Applied": { description: "`respond-async`", schema: { type: "string" } },
      },
      content: { "application/json": { schema: RunSchema } },
    },
    ...errorResponses(401, 403),
  },
});

const runRoute = createRoute({
  method: "get",
  path: "/v1/reconcile/runs/{id}",
  operationId: "getReconcileRun",
  tags: ["Reconcile"],
  summary: "One reconcile run's record (the Location of a queued run)",
  ...apiKeyAuth("admin"),
  middleware: [requireScope("admin")] as const,
  request: { params: RunIdParamSchema },
  responses: {
    200: { description: "The run", content: { "application/json": { schema: RunSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

/** Whether a `Prefer` header asks for `respond-async` (RFC 7240: a list of preferences). */
const prefersAsync = (prefer: string | undefined) =>
  (prefer ?? "")
    .split(",")
    .some((preference) => preference.split(";")[0]?.trim().toLowerCase() === "respond-async");

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

const retryInviteRoute = createRoute({
  method: "post",
  path: "/v1/reconcile/invites/{id}/retry",
  operationId: "retryReconcileInvite",
  tags: ["Reconcile"],
  summary: "Try an invite again that reconcile stopped trying",
  ...apiKeyAuth(
    "admin",
    "For an invite XM Directory refused 5 times (counted as gave up) or whose stamp Qualtrics " +
      "refused: after fixing the cause, the next run pushes or stamps it again. 409 when " +
      "reconcile has not stopped trying it.",
  ),
  middleware: [requireScope("admin")] as const,
  request: { params: IdParamSchema },
  responses: {
    200: {
      description: "The invite's reconcile state, cleared",
      content: { "application/json": { schema: InviteStateSchema } },
    },
    ...errorResponses(401, 403, 404, 409),
  },
});

export const reconcileRoutes = createRouter()
  .openapi(runNowRoute, async (c) => {
    if (prefersAsync(c.req.valid("header").prefer)) {
      const queued = await queueReconcile(c.env, c.get("store"), Date.now());
      if (queued) {
        log("reconcile_queued", { requestId: c.get("requestId"), runId: queued.id });
        c.header("Location", `/v1/reconcile/runs/${queued.id}`);
        c.header("Preference-Applied", "respond-async");
        return c.json(runBody(queued), 202);
      }
    }
    const run = await runReconcile(c.env, { trigger: "api", store: c.get("store") });
    return c.json(runBody(run), 200);
  })
  .openapi(runRoute, async (c) => {
    const { id } = c.req.valid("param");
    const run = await getRun(controlDb(c.get("store")), id);
    if (!run) throw new ApiError(404, "not_found", "No reconcile run with this id.");
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
  })
  .openapi(retryInviteRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { row, cleared } = isInviteId(id)
      ? await clearRefusals(c.get("store"), id, MAX_PUSH_ATTEMPTS)
      : { row: null, cleared: false };
    if (!row) throw unknownOrPurged("invite");
    if (!cleared) {
      throw new ApiError(
        409,
        "conflict",
        `Reconcile has not stopped trying invite ${id}: it was neither given up nor refused.`,
      );
    }
    log("reconcile_invite_retried", {
      requestId: c.get("requestId"),
      inviteId: id,
      apiKeyId: c.get("apiKey").id,
    });
    return c.json(inviteStateAnswer(row), 200);
  });
