/**
 * One delivery attempt: the event's body, signed for the subscription, POSTed to its URL. Any
 * 2xx is a success; anything else (another status, a redirect, a network error, no answer within
 * `DELIVERY_TIMEOUT_MS`) is a failure the queue retries. What a failure records says what went
 * wrong, never what the receiver answered (its body is not read).
 */
import type { WebhookSubscription } from "../config/webhooks";
import type { Store } from "../store/store";
import { eventBody, type WebhookEvent } from "./events";
import { signDelivery } from "./signing";

/** A receiver that does not answer in this time is retried later. */
const DELIVERY_TIMEOUT_MS = 10_000;

type AttemptResult = { ok: true } | { ok: false; error: string };

export async function deliverEvent(
  store: Store,
  subscription: WebhookSubscription,
  event: WebhookEvent,
): Promise<AttemptResult> {
  const body = eventBody(event);
  const signed = await signDelivery(subscription.keys, event.id, body, Date.now());
  try {
    const response = await store.limits.connection(() =>
      fetch(subscription.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "User-Agent": "invite-edge", ...signed },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      }),
    );
    await response.body?.cancel();
    return response.ok ? { ok: true } : { ok: false, error: `HTTP ${response.status}` };
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    return { ok: false, error: name === "TimeoutError" ? "no answer in 10 s" : `network: ${name}` };
  }
}
