/**
 * The webhooks queue's consumers. A message without a subscription is an event as the sweep (or
 * the issue path) sent it: it is fanned out, one message per subscription that asked for its
 * type, so that each subscription is retried on its own. A message with a subscription is one
 * delivery: success is acknowledged, failure retried with backoff (retries.ts) until the queue
 * gives up and dead-letters it; the dead-letter queue's consumer records it for
 * `GET /v1/webhooks/deliveries` and replay. While WEBHOOKS is invalid, events wait in the queue.
 *
 * Outcomes are recorded before any message is acknowledged: if recording fails, the whole batch
 * comes back (a receiver may then get an event twice, with the same `webhook-id`).
 */
import type { Env } from "../config/env";
import { getWebhooks, type WebhookSubscription } from "../config/webhooks";
import { log } from "../core/log";
import { controlDb, type Store } from "../store/store";
import { deliverEvent } from "./delivery";
import { enqueueMessages } from "./enqueue";
import { type EventMessage, readEventMessage } from "./events";
import { retryDelaySeconds, WEBHOOK_MAX_RETRIES } from "./retries";
import {
  type CounterIncrement,
  type DeliveryOutcome,
  recordDeliveries,
} from "./storage/deliveries";

type Decision = { message: Message; retryAfter?: number };

/** Per subscription, what this batch adds to its counters (written once per batch). */
class BatchCounters {
  private readonly bySubscription = new Map<string, CounterIncrement>();

  of(subscription: string): CounterIncrement {
    let entry = this.bySubscription.get(subscription);
    if (!entry) {
      entry = { subscription, delivered: 0, failed: 0, dead: 0 };
      this.bySubscription.set(subscription, entry);
    }
    return entry;
  }

  list(): CounterIncrement[] {
    return [...this.bySubscription.values()];
  }
}

/** Delivers one subscription's message; what to record and to do with the message. */
async function deliverOne(
  store: Store,
  message: Message,
  subscription: WebhookSubscription,
  body: EventMessage,
  counters: BatchCounters,
): Promise<{ decision: Decision; outcome: DeliveryOutcome | null }> {
  const result = await deliverEvent(store, subscription, body.event);
  if (result.ok) {
    counters.of(subscription.id).delivered += 1;
    // Only a delivery that failed before (or a replay) has a row to update.
    const outcome: DeliveryOutcome | null =
      message.attempts > 1 || body.replayed
        ? {
            event: body.event,
            subscription: subscription.id,
            status: "delivered",
            attempts: message.attempts,
            error: null,
          }
        : null;
    return { decision: { message }, outcome };
  }
  counters.of(subscription.id).failed += 1;
  return {
    decision: { message, retryAfter: retryDelaySeconds(message.attempts) },
    outcome: {
      event: body.event,
      subscription: subscription.id,
      status: "failing",
      attempts: message.attempts,
      error: result.error,
    },
  };
}

/** The webhooks queue's consumer: fan-out and deliveries. */
export async function deliverWebhooks(batch: MessageBatch, env: Env, store: Store): Promise<void> {
  const setup = getWebhooks(env);
  if (setup.state === "invalid") {
    // Not a subscription's fault: every message waits, and the operator is told why.
    log("webhooks_invalid", {
      problems: setup.problems.join("; "),
      waiting: batch.messages.length,
    });
    for (const message of batch.messages) {
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
    return;
  }
  const subscriptions = setup.state === "ok" ? setup.subscriptions : [];
  const counters = new BatchCounters();
  const decisions: Decision[] = [];
  const outcomes: DeliveryOutcome[] = [];
  const fanOut: EventMessage[] = [];
  const fanOutMessages: Message[] = [];
  await Promise.all(
    batch.messages.map(async (message) => {
      const body = readEventMessage(message.body);
      if (!body) {
        log("webhook_message_unreadable", { queue: batch.queue });
        decisions.push({ message });
        return;
      }
      const wanted = subscriptions.filter((s) => s.events.includes(body.event.type));
      if (body.subscription === undefined) {
        for (const s of wanted) {
          fanOut.push({
            event: body.event,
            subscription: s.id,
            ...(body.replayed ? { replayed: true } : {}),
          });
        }
        fanOutMessages.push(message);
        return;
      }
      // A subscription removed, or no longer asking for this type, gets nothing more.
      const subscription = wanted.find((s) => s.id === body.subscription);
      if (!subscription) {
        decisions.push({ message });
        return;
      }
      const done = await deliverOne(store, message, subscription, body, counters);
      decisions.push(done.decision);
      if (done.outcome) outcomes.push(done.outcome);
    }),
  );
  if (fanOut.length > 0) {
    const queue = env.WEBHOOK_QUEUE;
    if (!queue) throw new Error("no WEBHOOK_QUEUE is bound (wrangler.toml)");
    await enqueueMessages(store, queue, fanOut);
  }
  decisions.push(...fanOutMessages.map((message) => ({ message })));
  await recordDeliveries(controlDb(store), outcomes, counters.list(), Date.now());
  for (const { message, retryAfter } of decisions) {
    if (retryAfter === undefined) message.ack();
    else message.retry({ delaySeconds: retryAfter });
  }
}

/**
 * The dead-letter queue's consumer: deliveries the queue gave up on after
 * `WEBHOOK_MAX_RETRIES` retries (or events that waited that long for a valid WEBHOOKS) are
 * recorded as `dead`, with their body, for `GET /v1/webhooks/deliveries` and replay.
 */
export async function recordDeadLetters(
  batch: MessageBatch,
  _env: Env,
  store: Store,
): Promise<void> {
  const counters = new BatchCounters();
  const outcomes: DeliveryOutcome[] = [];
  for (const message of batch.messages) {
    const body = readEventMessage(message.body);
    if (!body) continue;
    const subscription = body.subscription ?? "";
    counters.of(subscription).dead += 1;
    outcomes.push({
      event: body.event,
      subscription,
      status: "dead",
      attempts: WEBHOOK_MAX_RETRIES + 1,
      error: null,
    });
    log("webhook_dead_letter", { eventId: body.event.id, type: body.event.type, subscription });
  }
  await recordDeliveries(controlDb(store), outcomes, counters.list(), Date.now());
  batch.ackAll();
}
