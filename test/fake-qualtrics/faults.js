// @ts-check
/**
 * Injected faults, a test control: the next requests (to any endpoint, or one by name) get an
 * error status, no answer, a dropped socket, or a 2xx with a body of the test's choosing (say,
 * one that cannot be read), before the work or after it (the work is done and the answer is lost
 * or unreadable: the ambiguous failure of a call that is not idempotent).
 */
import { ApiError } from "./envelopes.js";

/**
 * @typedef {import("./state.js").FakeContext} FakeContext
 * @typedef {import("./state.js").Fault} Fault
 */

/**
 * @typedef {object} FaultInput
 * @property {number} [status]       answer with this status (500, 503, 504, 429, …) and the error envelope
 * @property {boolean} [hang]        never answer (until the client gives up or the server closes)
 * @property {number} [hangMs]       with hang: answer normally after this many ms instead of never
 * @property {boolean} [reset]       destroy the socket: the client sees a network error
 * @property {unknown} [reply]       answer 200 (or `status`) with this body: a string as it is, anything else as JSON
 * @property {number} [count]        how many requests the fault applies to (default 1)
 * @property {string} [endpoint]     only requests to this endpoint name (default: any Qualtrics route)
 * @property {number | string | null} [retryAfter]  Retry-After header value for status faults
 * @property {boolean} [after]      apply the fault after the request was handled (the work is done,
 *                                  the answer is lost): the ambiguous failure of a non-idempotent call
 */

/** @param {FakeContext} ctx @param {FaultInput} input */
export function injectFault(ctx, input) {
  /** @type {Fault["kind"]} */
  const kind = input.reset
    ? "reset"
    : input.hang
      ? "hang"
      : input.reply !== undefined
        ? "reply"
        : "status";
  if (
    kind === "status" &&
    !(typeof input.status === "number" && input.status >= 400 && input.status < 600)
  ) {
    throw new ApiError(400, "FAKE_BAD_INPUT", "a fault needs status (4xx/5xx), hang or reset");
  }
  ctx.state.faults.push({
    kind,
    status: input.status ?? (kind === "reply" ? 200 : 0),
    reply: input.reply,
    hangMs: input.hangMs ?? null,
    remaining: input.count ?? 1,
    endpoint: input.endpoint ?? null,
    retryAfter: input.retryAfter ?? null,
    after: input.after === true,
  });
}

/** The first fault that applies to this endpoint, used up by one. @param {FakeContext} ctx @param {string} endpoint */
export function takeFault(ctx, endpoint) {
  const { faults } = ctx.state;
  const i = faults.findIndex(
    (f) => f.remaining > 0 && (f.endpoint === null || f.endpoint === endpoint),
  );
  const fault = faults[i];
  if (!fault) return null;
  fault.remaining -= 1;
  if (fault.remaining <= 0) faults.splice(i, 1);
  return fault;
}
