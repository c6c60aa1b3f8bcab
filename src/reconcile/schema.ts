/** The zod models of the reconcile API: run records, refusals, the push backlog, imports, invites. */
import { z } from "@hono/zod-openapi";
import { iso, isoOrNull } from "../store/link-status";
import { MAX_REFUSALS_LISTED, parseRefusals, REFUSAL_PHASES } from "./refusals";
import { NOTICE_CODES, noticeMessage, parseNotices } from "./run-notices";
import { IMPORT_STATUSES, type ImportRow } from "./storage/imports";
import type { InviteReconcileRow } from "./storage/refused-invites";
import { RUN_STATUSES, RUN_TRIGGERS, type RunRow } from "./storage/runs";

const NoticeSchema = z
  .object({
    survey: z
      .string()
      .nullable()
      .openapi({
        example: "demo",
        description:
          "The survey it is about; null for a notice about the directory (dedup_off) or the run " +
          "itself (budget_reached)",
      }),
    code: z.enum(NOTICE_CODES).openapi({
      description:
        "sig_missing: responses of the survey carry no sig (declare sig in its flow). " +
        "field_missing: responses lack embedded-data fields invite-edge issued (declare them). " +
        "value_truncated: stamps carried values cut to 1,000 characters. " +
        "dedup_off: customers pushed before came back as new contacts (turn on deduplication " +
        "on External Data Reference). stamp_job_messages: Qualtrics reported errors or warnings " +
        "on update-responses jobs. budget_reached: the run stopped at its storage budget; the " +
        "next run continues. unmatched: responses naming an invite the ledger does not hold " +
        "(removed after the retention period, or never issued for the survey)",
    }),
    responses: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Survey notices: responses of this run it is about" }),
    contacts: z.number().int().optional().openapi({
      description: "dedup_off: customers pushed before that came back as new contacts",
    }),
    fields: z
      .array(z.string())
      .optional()
      .openapi({
        description: "field_missing, value_truncated: the fields concerned",
        example: ["seat"],
      }),
    errors: z.number().int().optional().openapi({ description: "stamp_job_messages" }),
    warnings: z.number().int().optional().openapi({ description: "stamp_job_messages" }),
    messages: z.array(z.string()).optional().openapi({
      description: "stamp_job_messages: up to 5 of Qualtrics' own messages, as it wrote them",
    }),
    message: z
      .string()
      .openapi({ description: "What it means and what the survey owner should do" }),
  })
  .openapi("ReconcileNotice");

/** An invite Qualtrics refused, in one shape for every phase (also for other features' reports). */
const RefusalSchema = z
  .object({
    inviteId: z.string().openapi({ example: "AAc11cUpE6JTu4hDsIWxl_Xg" }),
    phase: z.enum(REFUSAL_PHASES).openapi({
      description:
        "push: XM Directory did not take its transaction (queued again, up to 5 times). " +
        "stamp: Qualtrics refused its response's update (not sent again until retried)",
    }),
    reason: z.string().openapi({
      description: 'Qualtrics\' reason when it gave one, else "unprocessed, no reason given"',
      example: "unprocessed, no reason given",
    }),
  })
  .openapi("ReconcileRefusal");

export const RunIdParamSchema = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "run_Zx8c1kPq2m4TnY7w" }),
});

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
    refused: z.array(RefusalSchema).openapi({
      description: `Invites Qualtrics refused in this run (the first ${MAX_REFUSALS_LISTED})`,
    }),
    refusedCount: z
      .number()
      .int()
      .openapi({ description: "How many invites Qualtrics refused in this run, listed or not" }),
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
    refused: parseRefusals(run.refused),
    refusedCount: run.refused_count,
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

export const InviteStateSchema = z
  .object({
    id: z.string(),
    survey: z.string(),
    pushed: z.boolean().openapi({ description: "Its transaction is in XM Directory" }),
    pushAttempts: z.number().int().openapi({
      description: "Imports that refused it; at 5 it is given up until retried",
    }),
    completed: z.boolean(),
    stamped: z.boolean().openapi({ description: "Its response carries the signed values" }),
    stampRefused: z.string().nullable().openapi({
      description: "Why Qualtrics refused its stamp; null when it did not (or was retried)",
    }),
  })
  .openapi("ReconcileInvite");

export function inviteStateAnswer(row: InviteReconcileRow): z.infer<typeof InviteStateSchema> {
  return {
    id: row.id,
    survey: row.survey,
    pushed: row.pushed_at !== null,
    pushAttempts: row.push_attempts,
    completed: row.completed_at !== null,
    stamped: row.stamped_at !== null,
    stampRefused: row.stamp_refused,
  };
}
