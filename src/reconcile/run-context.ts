/**
 * What one reconcile run carries through its phases (push, settle imports, completions, stamps):
 * the store, the Qualtrics client with its call budget, the clock, and the tally that becomes the
 * run record. Also the rule for how far a failure reaches.
 *
 * One job's or one survey's failure ends only that job or that survey for this run: it is
 * recorded and the run goes on. The run itself ends early only when Qualtrics as a whole is
 * failing or refusing: a 401 (credentials), the call budget, a lost lease, or a second call in the
 * run whose retries ran out on 429s, 5xx or timeouts (one such call may be one survey's trouble;
 * two mean the brand's limit or Qualtrics itself). Anything that is not a Qualtrics answer (the
 * ledger failing, a bug) ends the run too.
 */
import type { Config } from "../config/config";
import type { QualtricsSettings } from "../config/qualtrics";
import { describeError } from "../core/log";
import type { QualtricsClient } from "../qualtrics";
import { QualtricsBudgetError, QualtricsError } from "../qualtrics/errors";
import type { Store } from "../store/store";
import type { RefusalList } from "./refusals";
import type { RunNotice } from "./run-notices";
import type { RunCounts } from "./storage/runs";

/** The run's own counts (the rest of `RunCounts` is read when it finishes), errors and notices. */
export interface RunTally extends Omit<RunCounts, "onHold" | "qualtricsCalls"> {
  errors: string[];
  notices: RunNotice[];
  refused: RefusalList;
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
  /**
   * Records a failure of `scope` (a phase, a survey, a job) in the run's errors. Throws
   * `RunStopped` when the failure means the run must end now.
   */
  fail: (scope: string, error: unknown) => void;
}

/** The run no longer holds the lease (it outlived it and another run took over): stop. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

/** A reconcile step that cannot go on; its `cause`, when a Qualtrics error, says how far it reaches. */
export class ReconcileError extends Error {
  override name = "ReconcileError";
}

/** The run must end now; the failure that says so is already recorded. */
export class RunStopped extends Error {
  override name = "RunStopped";
}

/** Calls whose retries ran out that a run tolerates before it takes Qualtrics for down. */
const TOLERATED_EXHAUSTED_CALLS = 1;

/** The `fail` of one run: counts the calls whose retries ran out, decides when to stop. */
export function failurePolicy(errors: string[]): (scope: string, error: unknown) => void {
  let exhausted = 0;
  const endsRun = (error: unknown): boolean => {
    if (error instanceof ReconcileError) {
      return error.cause instanceof QualtricsError ? endsRun(error.cause) : false;
    }
    if (error instanceof LeaseLostError || error instanceof QualtricsBudgetError) return true;
    if (!(error instanceof QualtricsError)) return true;
    if (error.status === 401) return true;
    if (!error.retryable) return false;
    exhausted += 1;
    return exhausted > TOLERATED_EXHAUSTED_CALLS;
  };
  return (scope, error) => {
    if (error instanceof RunStopped) throw error;
    errors.push(`${scope}: ${describeError(error)}`);
    if (endsRun(error)) throw new RunStopped(`the run stopped after ${scope} failed`);
  };
}
