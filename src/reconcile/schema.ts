/** The zod models of the reconcile API: run records, the push backlog, imports. */
import { z } from "@hono/zod-openapi";
import { iso, isoOrNull } from "../store/link-status";
import { NOTICE_CODES, noticeMessage, parseNotices } from "./run-notices";
import { IMPORT_STATUSES, type ImportRow } from "./storage/imports";
import { RUN_STATUSES, RUN_TRIGGERS, type RunRow } from "./storage/runs";

const NoticeSchema = z
  .object({
    survey: z
      .string()
      .openapi({ example: "demo", description: "The survey; empty for a notice about the run" }),
    code: z.enum(NOTICE_CODES).openapi({
      description:
        "sig_missing: responses of the survey carry no sig (declare sig in its flow). " +
        "field_missing: responses lack embedded-data fields invite-edge issued (declare them). " +
        "budget_reached: the run stopped at its storage budget; the next run continues",
    }),
    responses: z.number().int().openapi({ description: "Responses of this run it is about" }),
    fields: z
      .array(z.string())
      .optional()
      .openapi({
        description: "field_missing: the fields those responses lack",
        example: ["seat"],
      }),
    message: z
      .string()
      .openapi({ description: "What it means and what the survey owner should do" }),
  })
  .openapi("ReconcileNotice");

export const RunSchema = z
  .object({
    id: z.string().openapi({ example: "run_Zx8c1kPq2m4TnY7w" }),
    trigger: z.enum(RUN_TRIGGERS),
    status: z.enum(RUN_STATUSES),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    imports: z.number().int().openapi({ description: "transactioncontacts imports sent" }),
    pushed: z.number().int().openapi({
      description: "Invites confirmed in XM Directory (import at 100%, index not unprocessed)",
    }),
    unprocessed: z.number().int().openapi({
      description: "Invites Qualtrics refused in an import; queued again for the next run",
    }),
    completions: z.number().int(),
    tampered: z.number().int().openapi({
      description:
        "New completions whose values differ from the issued ones, or whose sig does not verify",
    }),
    stamped: z.number().int().openapi({ description: "Responses stamped with the signed values" }),
    onHold: z.number().int().openapi({
      description: "Invites in imports whose outcome is unknown, held until resolved",
    }),
    qualtricsCalls: z.number().int(),
    callsPerInvite: z
      .number()
      .nullable()
      .openapi({ description: "qualtricsCalls / pushed (null when nothing was pushed)" }),
    error: z.string().nullable(),
    notices: z.array(NoticeSchema).openapi({
      description: "Findings that are not errors but need someone to act, per survey",
    }),
  })
  .openapi("ReconcileRun");

const BacklogSchema = z
  .object({
    queued: z.number().int().openapi({ description: "Waiting for the next run" }),
    inFlight: z.number().int().openapi({ description: "In imports not yet at 100%" }),
    onHold: z.number().int().openapi({ description: "In imports whose outcome is unknown" }),
    gaveUp: z.number().int().openapi({ description: "Refused by Qualtrics 5 times; not retried" }),
  })
  .openapi("PushBacklog");

export const RunListSchema = z
  .object({ runs: z.array(RunSchema), backlog: BacklogSchema })
  .openapi("ReconcileRuns");

export const RunsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20).openapi({ example: 20 }),
});

export const ImportSchema = z
  .object({
    id: z.string(),
    runId: z.string(),
    batchId: z.string(),
    status: z.enum(IMPORT_STATUSES),
    qualtricsImportId: z.string().nullable(),
    contacts: z.number().int(),
    pushed: z.number().int().nullable(),
    polls: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    error: z.string().nullable(),
  })
  .openapi("ReconcileImport");

export const ImportListSchema = z
  .object({ imports: z.array(ImportSchema) })
  .openapi("ReconcileImports");

export const ImportsQuerySchema = z.object({
  status: z.enum(IMPORT_STATUSES).optional().openapi({
    description: "Only imports in this status (default: unknown, reserving, sending and accepted)",
  }),
});

export const ImportIdParamSchema = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "imp_3bq9X2kLm0pQ" }),
});

export const ResolveBodySchema = z
  .object({
    outcome: z.enum(["accepted", "not_accepted"]).openapi({
      description:
        "accepted: Qualtrics has the transactions (check the batch in XM Directory); its invites " +
        "are marked pushed. not_accepted: it does not; its invites are queued again.",
    }),
  })
  .strict()
  .openapi("ResolveImport");

export function runBody(run: RunRow): z.infer<typeof RunSchema> {
  return {
    id: run.id,
    trigger: run.trigger,
    status: run.status,
    startedAt: iso(run.started_at),
    finishedAt: isoOrNull(run.finished_at),
    imports: run.imports,
    pushed: run.pushed,
    unprocessed: run.unprocessed,
    completions: run.completions,
    tampered: run.tampered,
    stamped: run.stamped,
    onHold: run.on_hold,
    qualtricsCalls: run.qualtrics_calls,
    callsPerInvite:
      run.pushed > 0 ? Math.round((run.qualtrics_calls / run.pushed) * 1e6) / 1e6 : null,
    error: run.error,
    notices: parseNotices(run.notices).map((n) => ({ ...n, message: noticeMessage(n) })),
  };
}

export function importAnswer(row: ImportRow): z.infer<typeof ImportSchema> {
  return {
    id: row.id,
    runId: row.run_id,
    batchId: row.batch_id,
    status: row.status,
    qualtricsImportId: row.qualtrics_import_id,
    contacts: row.contacts,
    pushed: row.pushed,
    polls: row.polls,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    error: row.error,
  };
}
