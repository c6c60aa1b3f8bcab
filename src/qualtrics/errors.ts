/**
 * The errors of the Qualtrics client. Every failure to get a valid answer is a `QualtricsError`
 * that says whether trying again may help (`retryable`) and whether the request may have taken
 * effect although no success came back (`ambiguous`).
 */

interface QualtricsErrorInit {
  status: number;
  errorCode: string;
  message: string;
  /** Qualtrics' own words (`errorMessage`), when it gave any. */
  reason?: string | undefined;
  requestId?: string | undefined;
  retryable: boolean;
  retryAfterMs?: number | undefined;
  attempts?: number;
  ambiguous?: boolean;
}

/**
 * Any failure talking to Qualtrics. `status` is the HTTP status, or 0 when no HTTP answer came
 * (network error, timeout, budget, a request refused before sending).
 */
export class QualtricsError extends Error {
  override readonly name: string = "QualtricsError";
  readonly status: number;
  readonly errorCode: string;
  /** Qualtrics' own words (`errorMessage`), when it gave any. */
  readonly reason: string | undefined;
  readonly requestId: string | undefined;
  /** True when the same request may succeed later (429, 5xx, network, timeout). */
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  /** Requests sent for this operation before giving up. */
  readonly attempts: number;
  /**
   * True when the request may have taken effect although no success answer came back (a timeout,
   * a dropped connection or a 5xx on a call that is not idempotent): repeating it may apply it twice.
   */
  readonly ambiguous: boolean;

  constructor(init: QualtricsErrorInit) {
    super(init.message);
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.reason = init.reason;
    this.requestId = init.requestId;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.attempts = init.attempts ?? 1;
    this.ambiguous = init.ambiguous ?? false;
  }
}

/** The run's call budget is spent: stop, and let the next run carry on. */
export class QualtricsBudgetError extends QualtricsError {
  override readonly name: string = "QualtricsBudgetError";

  constructor(maxCalls: number) {
    super({
      status: 0,
      errorCode: "call_budget_exhausted",
      message: `Qualtrics call budget of ${maxCalls} calls for this run is spent`,
      retryable: false,
      attempts: 0,
    });
  }
}

/**
 * The error a call ends with: the last attempt's, with the number of attempts made and, in its
 * message, why no further attempt was made.
 */
export function finalError(
  error: QualtricsError,
  attempts: number,
  why: { exhausted?: boolean; ambiguous?: boolean },
): QualtricsError {
  let message = error.message;
  if (why.exhausted) message = `${message} (gave up after ${attempts} attempts)`;
  if (why.ambiguous) message = `${message} (not repeated: Qualtrics may have done it)`;
  return new QualtricsError({
    status: error.status,
    errorCode: error.errorCode,
    message,
    reason: error.reason,
    requestId: error.requestId,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    attempts,
    ambiguous: why.ambiguous ?? false,
  });
}
