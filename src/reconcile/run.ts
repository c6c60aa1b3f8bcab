/**
 * The reconcile run, started by the Cron Trigger or `POST /v1/reconcile`: push queued invites to
 * XM Directory, settle imports (this run's and earlier ones'), learn completions from response
 * exports, stamp the signed invite data on responses; record the run.
 *
 * Invariants: one run at a time (a lease in the control database; a second run is recorded as
 * skipped); every run ends with a record, whatever failed; the Qualtrics calls of a run are
 * bounded by QUALTRICS_MAX_CALLS_PER_RUN and its storage calls by the invocation's budget (the
 * phases get a share of it, so that recording the run always fits; a run that reaches it stops
 * and the next one continues); all state lives in D1 (the control database and the ledger's
 * shards), so any run finishes what a dead one left. Qualtrics requests take one of the
 * invocation's connections like storage calls do.
 */
import { type Config, getConfig } from "../config/config";
import type { Env } from "../config/env";
import { parseQualtricsSettings, type QualtricsSettings } from "../config/qualtrics";
import { describeError, log } from "../core/log";
import { createQualtricsClient } from "../qualtrics";
import type { QualtricsClientOptions } from "../qualtrics/transport";
import { QueryBudgetSpent } from "../store/limits";
import { controlDb, openStore, type Store } from "../store/store";
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
  /** The invocation's store (a request's, a scheduled run's); else the run opens its own. */
  store?: Store;
}

/** Longer than any single step (a call with its retries), so a live run never loses it. */
export const LEASE_MS = 10 * 60 * 1000;
const MAX_POLLS_PER_JOB = 10;
const MAX_IMPORTS_PER_RUN = 20;
const RUN_RECORDS_KEPT_MS = 30 * 86_400_000;

export function newRunId(): string {
  return `run_${base64url(crypto.getRandomValues(new Uint8Array(12)))}`;
}

/**
 * Storage calls kept back from the phases for finishing the run (its record, the backlog over
 * every shard, the lease), so that a run that spends its share can still say so.
 */
const finishingCalls = (shards: number) => shards + 10;

/**
 * The client for one run: the budget and pacing leave room for the brand's other integrations;
 * each request takes one of the invocation's connections.
 */
function clientFor(
  settings: QualtricsSettings,
  store: Store,
  overrides: Partial<QualtricsClientOptions> = {},
) {
  const send = overrides.fetch ?? ((input, init) => fetch(input, init));
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
    fetch: (input, init) => store.limits.connection(() => send(input, init)),
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
  const invocation = options.store ?? openStore(env);
  const db = controlDb(invocation);
  let store: Store;
  /** A run that ends before it starts (skipped, or a bad config) is recorded in one statement. */
  const endEarly = async (status: "skipped" | "failed", error: string) =>
    logged(await insertFinishedRun(db, { id: runId, trigger, status, at: startedAt, error }));
  let config: Config;
  let settings: QualtricsSettings;
  try {
    config = getConfig(env);
    store = invocation.share(invocation.limits.remaining - finishingCalls(config.ledgerShards));
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
  const client = clientFor(settings, store, options.client);
  try {
    await startRun(db, { id: runId, trigger, at: startedAt });
    const ctx: RunContext = {
      store,
      control: controlDb(store),
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
        if (!(await renewLease(controlDb(store), runId, now(), leaseMs))) {
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
        if (error instanceof QueryBudgetSpent) {
          // Every step is safe to stop between: the next run picks up from D1.
          tally.notices.push({ survey: null, code: "budget_reached" });
          break;
        }
        try {
          ctx.fail(name, error);
        } catch (stopped) {
          if (stopped instanceof RunStopped) break;
          throw stopped;
        }
      }
    }
    const backlog = await pushBacklog(invocation, MAX_PUSH_ATTEMPTS);
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
