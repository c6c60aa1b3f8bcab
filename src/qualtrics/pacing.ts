/**
 * The client's call budget and pacing. Every request sent (retries and token requests included)
 * takes one slot: past `maxCalls` a slot is refused with `QualtricsBudgetError`. A slot waits
 * while the last minute already holds `maxCallsPerMinute` sends (the brand-wide pace), while it
 * holds its endpoint's own per-minute limit, and while Qualtrics asked, with `Retry-After`, that
 * the endpoint be left alone. A wait longer than `maxWaitMs` is not waited out: the slot is
 * refused with a retryable 429, so one endpoint's long pause cannot stall a run.
 *
 * Slots are handed out one at a time, so concurrent callers cannot overrun a window.
 */
import { QualtricsBudgetError, QualtricsError } from "./errors";

const PACING_WINDOW_MS = 60_000;

/** The Qualtrics endpoints the client calls, by the name pacing, errors and tests use. */
export type QualtricsEndpoint =
  | "oauthToken"
  | "createTransactionBatch"
  | "importTransactionContacts"
  | "getTransactionImport"
  | "listBatchTransactions"
  | "startResponseExport"
  | "getResponseExport"
  | "getResponseExportFile"
  | "startUpdateResponses"
  | "getUpdateResponses";

/**
 * Each endpoint's own limit per brand and minute, as clients report them (Qualtrics publishes
 * only the brand's 3,000). Used as pacing defaults; `Retry-After` always wins.
 */
export const ENDPOINT_CALLS_PER_MINUTE: Readonly<Record<QualtricsEndpoint, number>> = {
  oauthToken: 100,
  createTransactionBatch: 500,
  importTransactionContacts: 100,
  getTransactionImport: 500,
  listBatchTransactions: 500,
  startResponseExport: 100,
  getResponseExport: 1000,
  getResponseExportFile: 100,
  startUpdateResponses: 10,
  getUpdateResponses: 1000,
};

interface Pacer {
  /** Slots taken so far: requests sent. */
  readonly calls: number;
  takeSlot(endpoint: QualtricsEndpoint): Promise<void>;
  /** Qualtrics asked (Retry-After) that `endpoint` not be called for `ms`. */
  hold(endpoint: QualtricsEndpoint, ms: number): void;
}

/** Send times in a sliding window of one minute, oldest first. */
function recentSends(limit: number) {
  const sentAt: number[] = [];
  return {
    /** How long until one more send fits under `limit`. */
    waitAt(now: number): number {
      if (sentAt.length < limit) return 0;
      const oldest = sentAt[sentAt.length - limit] ?? 0;
      return oldest + PACING_WINDOW_MS - now;
    },
    record(now: number) {
      sentAt.push(now);
      if (sentAt.length > limit) sentAt.splice(0, sentAt.length - limit);
    },
  };
}

export function createPacer(options: {
  maxCalls: number;
  maxCallsPerMinute: number;
  endpointCallsPerMinute: Readonly<Record<QualtricsEndpoint, number>>;
  maxWaitMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}): Pacer {
  const { maxCalls, sleep, now } = options;
  let calls = 0;
  const brand = recentSends(options.maxCallsPerMinute);
  const endpoints = new Map<QualtricsEndpoint, ReturnType<typeof recentSends>>();
  const heldUntil = new Map<QualtricsEndpoint, number>();
  let queue: Promise<void> = Promise.resolve();

  const windowOf = (endpoint: QualtricsEndpoint) => {
    let window = endpoints.get(endpoint);
    if (!window) {
      window = recentSends(options.endpointCallsPerMinute[endpoint]);
      endpoints.set(endpoint, window);
    }
    return window;
  };

  return {
    get calls() {
      return calls;
    },
    takeSlot(endpoint) {
      const slot = queue.then(async () => {
        if (calls >= maxCalls) throw new QualtricsBudgetError(maxCalls);
        const window = windowOf(endpoint);
        const at = now();
        const held = (heldUntil.get(endpoint) ?? 0) - at;
        if (held > options.maxWaitMs) {
          throw new QualtricsError({
            status: 429,
            errorCode: "rate_limited",
            message: `Qualtrics asked to leave ${endpoint} alone for ${Math.ceil(held / 1000)} s more`,
            retryable: true,
            retryAfterMs: held,
            attempts: 0,
          });
        }
        const wait = Math.max(held, brand.waitAt(at), window.waitAt(at));
        // One wait, not a loop: an injected clock that does not move must not spin forever.
        if (wait > 0) await sleep(wait);
        calls += 1;
        const sentAt = now();
        brand.record(sentAt);
        window.record(sentAt);
      });
      queue = slot.catch(() => undefined);
      return slot;
    },
    hold(endpoint, ms) {
      const until = now() + ms;
      heldUntil.set(endpoint, Math.max(heldUntil.get(endpoint) ?? 0, until));
    },
  };
}
