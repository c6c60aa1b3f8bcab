/**
 * `invite.suppressed`, for the issue path when a contact rule, sample, cap or opt-out suppresses
 * a request. The caller already has the answer (its issue call says the request was suppressed),
 * so the event only repeats it to the platform's receiver: it is sent in the background
 * (`waitUntil`) and the issue call never waits for the queue. A send lost with the invocation is
 * tolerable for this event, unlike the others, which come from the ledger (sweep.ts).
 */
import type { Env } from "../config/env";
import { getWebhooks } from "../config/webhooks";
import { describeError, log } from "../core/log";
import { type Suppression, suppressedEvent } from "./events";

/**
 * Sends `invite.suppressed` for `suppression` in the background; nothing when WEBHOOKS is not
 * set or no queue is bound.
 *
 * @example
 * notifySuppressed(c.env, c.executionCtx, { survey, transactionId, trigger, reason: "cap", at: now });
 */
export function notifySuppressed(
  env: Env,
  ctx: Pick<ExecutionContext, "waitUntil">,
  suppression: Suppression,
): void {
  const queue = env.WEBHOOK_QUEUE;
  if (!queue || getWebhooks(env).state === "none") return;
  const event = suppressedEvent(suppression);
  ctx.waitUntil(
    queue.send({ event }).catch((error: unknown) => {
      log("webhook_send_failed", { type: event.type, error: describeError(error) });
    }),
  );
}
