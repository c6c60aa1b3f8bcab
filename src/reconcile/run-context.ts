/**
 * What one reconcile run carries through its phases (push, settle imports, completions, stamps):
 * the store, the Qualtrics client with its call budget, the clock, and the tally that becomes the
 * run record. Also the rule for which failures stop a run.
 */
import type { Config } from "../config/config";
import type { QualtricsSettings } from "../config/qualtrics";
import type { QualtricsClient } from "../qualtrics";
import { QualtricsBudgetError, QualtricsError } from "../qualtrics/errors";
import type { Store } from "../store/store";
import type { RunNotice } from "./run-notices";
import type { RunCounts } from "./storage/runs";

/** The run's own counts (the rest of `RunCounts` is read when it finishes), errors and notices. */
export interface RunTally extends Omit<RunCounts, "onHold" | "qualtricsCalls"> {
  errors: string[];
  notices: RunNotice[];
}

export interface RunContext {
  /** Invites in their shards (through the store's modules). */
  store: Store;
  /** The control database: runs, lease, imports, exports, stamp jobs (storage/). */
  control: D1Database;
  config: Config;
  settings: QualtricsSettings;
  client: QualtricsClient;
  runId: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  pollIntervalMs: number;
  /** Polls of one job within one run; a job still running afterwards is polled by the next run. */
  maxPollsPerJob: number;
  maxImportsPerRun: number;
  tally: RunTally;
  /** Extends the run's lease before a step that writes to Qualtrics; throws when it was lost. */
  keepLease: () => Promise<void>;
}

/** The run no longer holds the lease (it outlived it and another run took over): stop. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

/** A reconcile step that cannot go on (a failed export, an import refused or left unknown). */
export class ReconcileError extends Error {
  override name = "ReconcileError";
  /** True when the rest of the run should not go on either. */
  readonly stopsRun: boolean;

  constructor(message: string, options: { stopsRun?: boolean } = {}) {
    super(message);
    this.stopsRun = options.stopsRun ?? false;
  }
}

/**
 * Failures after which the rest of the run would only spend calls on a Qualtrics that is down,
 * refusing our credentials or over our budget; others (a 404 for one survey) are recorded and the
 * run goes on with the next survey or phase.
 */
export function stopsRun(error: unknown): boolean {
  if (error instanceof ReconcileError) return error.stopsRun;
  if (error instanceof LeaseLostError || error instanceof QualtricsBudgetError) return true;
  if (error instanceof QualtricsError) {
    return error.retryable || error.status === 401 || error.status === 403;
  }
  return true;
}
