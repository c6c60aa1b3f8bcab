/**
 * The reconcile run, started by the Cron Trigger or `POST /v1/reconcile`: push queued invites to
 * XM Directory, settle imports (this run's and earlier ones'), learn completions from response
 * exports, stamp the signed invite data on responses; record the run.
 *
 * Invariants: one run at a time (a lease in the control database; a second run is recorded as
 * skipped); every run ends with a record, whatever failed; the Qualtrics calls of a run are
 * bounded by QUALTRICS_MAX_CALLS_PER_RUN; all state lives in D1 (the control database and the
 * ledger's shards), so any run finishes what a dead one left.
 */
import { type Config, getConfig } from "../config/config";
import type { Env } from "../config/env";
import { parseQualtricsSettings, type QualtricsSettings } from "../config/qualtrics";
import { describeError, log } from "../core/log";
import { createQualtricsClient } from "../qualtrics";
import type { QualtricsClientOptions } from "../qualtrics/transport";
import { controlDbOf, getStore, type Store } from "../store/store";
import { base64url } from "../tokens/ids";
import { collectCompletions } from "./completions";
import { MAX_PUSH_ATTEMPTS, pushInvitesToDirectory } from "./push";
import { RefusalList } from "./refusals";
import {
  failurePolicy,
  LeaseLostError,
  type RunContext,
  RunStopped,
  type RunTally,
} from "./run-context";
import { noticeMessage, parseNotices, serialiseNotices } from "./run-notices";
import { settleImports } from "./settle-imports";
import { stampResponses } from "./stamp";
import { pushBacklog } from "./storage/push-queue";
import {
  acquireLease,
  finishRun,
  insertFinishedRun,
  type RunRow,
  type RunStatus,
  type RunTrigger,
  releaseLease,
  renewLease,
  startRun,
} from "./storage/runs";

export interface ReconcileOptions {
  trigger?: RunTrigger;
  /** The record of a run queued by `POST /v1/reconcile` with `Prefer: respond-async`. */
  runId?: string;
  now?: () => number;
  /** The run's own waits between polls (the client's backoff waits are `client.sleep`). */
  sleep?: (ms: number) => Promise<void>;
  /** Overrides for the Qualtrics client: delays, timeouts, fetch (tests). */
  client?: Partial<QualtricsClientOptions>;
  pollIntervalMs?: number;
  maxPollsPerJob?: number;
  leaseMs?: number;
  maxImportsPerRun?: number;
}

/** Longer than any single step (a call with its retries), so a live run never loses it. */
export const LEASE_MS = 10 * 60 * 1000;
const MAX_POLLS_PER_JOB = 10;
const MAX_IMPORTS_PER_RUN = 20;
const RUN_RECORDS_KEPT_MS = 30 * 86_400_000;

export function newRunId(): string {
  return `run_${base64url(crypto.getRandomValues(new Uint8Array(12)))}`;
}

/** The client for one run: the budget and pacing leave room for the brand's other integrations. */
function clientFor(settings: QualtricsSettings, overrides: Partial<QualtricsClientOptions> = {}) {
  return createQualtricsClient({
    baseUrl: settings.baseUrl,
    ...("apiToken" in settings.auth
      ? { apiToken: settings.auth.apiToken }
      : { oauth: settings.auth.oauth }),
    maxCalls: settings.maxCallsPerRun,
    maxCallsPerMinute: 1000,
    retries: 4,
    baseDelayMs: 500,
    maxDelayMs: 10_000,
    maxRetryAfterMs: 60_000,
    timeoutMs: 30_000,
    ...overrides,
  });
}

/**
 * Runs one reconcile and returns its record. Never throws for Qualtrics or configuration
 * problems: they end up in the record (status `failed` or `skipped`, with the reason).
 *
 * @example await runReconcile(env, { trigger: "cron" }); // in the scheduled handler
 */
export async function runReconcile(env: Env, options: ReconcileOptions = {}): Promise<RunRow> {
  const now = options.now ?? Date.now;
  const trigger = options.trigger ?? "cron";
  const runId = options.runId ?? newRunId();
  const startedAt = now();
  const db = controlDbOf(env);
  let store: Store;
  /** A run that ends before it starts (skipped, or a bad config) is recorded in one statement. */
  const endEarly = async (status: "skipped" | "failed", error: string) =>
    logged(await insertFinishedRun(db, { id: runId, trigger, status, at: startedAt, error }));
  let config: Config;
  let settings: QualtricsSettings;
  try {
    config = getConfig(env);
    store = getStore(env);
    const setup = parseQualtricsSettings(env);
    // Awaited here so that a failed insert is caught below and recorded as a failed run.
    if (!setup.configured) return await endEarly("skipped", setup.reason);
    settings = setup.settings;
  } catch (error) {
    return endEarly("failed", describeError(error));
  }

  const leaseMs = options.leaseMs ?? LEASE_MS;
  const lease = await acquireLease(db, runId, startedAt, leaseMs);
  if (!lease.acquired) {
    const until =
      lease.expiresAt === null ? "" : ` until ${new Date(lease.expiresAt).toISOString()}`;
    return endEarly(
      "skipped",
      `another run (${lease.holder ?? "unknown"}) holds the reconcile lease${until}`,
    );
  }

  const tally: RunTally = {
    imports: 0,
    pushed: 0,
    unprocessed: 0,
    completions: 0,
    tampered: 0,
    stamped: 0,
    errors: [],
    notices: [],
    refused: new RefusalList(),
  };
  const client = clientFor(settings, options.client);
  try {
    await startRun(db, { id: runId, trigger, at: startedAt });
    const ctx: RunContext = {
      store,
      control: db,
      config,
      settings,
      client,
      runId,
      now,
      sleep: options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
      pollIntervalMs: options.pollIntervalMs ?? settings.pollIntervalMs,
      maxPollsPerJob: options.maxPollsPerJob ?? MAX_POLLS_PER_JOB,
      maxImportsPerRun: options.maxImportsPerRun ?? MAX_IMPORTS_PER_RUN,
      tally,
      keepLease: async () => {
        if (!(await renewLease(db, runId, now(), leaseMs))) {
          throw new LeaseLostError("this run lost the reconcile lease to another run");
        }
      },
      fail: failurePolicy(tally.errors),
    };
    const phases: [string, (ctx: RunContext) => Promise<void>][] = [
      ["push", pushInvitesToDirectory],
      ["imports", settleImports],
      ["completions", collectCompletions],
      ["stamps", stampResponses],
    ];
    for (const [name, phase] of phases) {
      try {
        await phase(ctx);
      } catch (error) {
        try {
          ctx.fail(name, error);
        } catch (stopped) {
          if (stopped instanceof RunStopped) break;
          throw stopped;
        }
      }
    }
    const backlog = await pushBacklog(store, MAX_PUSH_ATTEMPTS);
    const { errors, notices, refused, ...counts } = tally;
    const status: RunStatus = errors.length > 0 ? "failed" : "ok";
    return logged(
      await finishRun(
        db,
        {
          id: runId,
          status,
          at: now(),
          error: errors.length > 0 ? errors.join("; ") : null,
          counts: { ...counts, onHold: backlog.onHold, qualtricsCalls: client.calls },
          notices: serialiseNotices(notices),
          refused: { listed: refused.serialise(), count: refused.count },
        },
        startedAt - RUN_RECORDS_KEPT_MS,
      ),
    );
  } finally {
    await releaseLease(db, runId).catch((error: unknown) =>
      log("reconcile_lease_release_failed", { runId, error: describeError(error) }),
    );
  }
}

function logged(run: RunRow): RunRow {
  const notices = parseNotices(run.notices).map(noticeMessage);
  log("reconcile_run", {
    runId: run.id,
    trigger: run.trigger,
    status: run.status,
    imports: run.imports,
    pushed: run.pushed,
    unprocessed: run.unprocessed,
    completions: run.completions,
    tampered: run.tampered,
    stamped: run.stamped,
    onHold: run.on_hold,
    refused: run.refused_count,
    qualtricsCalls: run.qualtrics_calls,
    error: run.error,
    notices: notices.length > 0 ? notices.join(" ") : null,
  });
  return run;
}
