/**
 * The Worker's `queue` handler: each batch goes to the consumer of its queue, by the queue's name
 * (wrangler.toml declares each queue and its consumer). A batch of a queue nobody consumes is an
 * operator's mistake: it is logged and thrown, so its messages are retried and then dead-lettered
 * rather than dropped.
 */
import type { Env } from "./config/env";
import { log } from "./core/log";
import { RECONCILE_QUEUE, runQueuedReconciles } from "./reconcile";
import { openStore, type Store } from "./store/store";
import {
  deliverWebhooks,
  recordDeadLetters,
  WEBHOOK_DEAD_LETTER_QUEUE,
  WEBHOOK_QUEUE,
} from "./webhooks";

/** A queue's consumer, with the invocation's store (its limits are the whole batch's). */
type Consumer = (batch: MessageBatch, env: Env, store: Store) => Promise<void>;

const CONSUMERS: Readonly<Record<string, Consumer>> = {
  [RECONCILE_QUEUE]: runQueuedReconciles,
  [WEBHOOK_QUEUE]: deliverWebhooks,
  [WEBHOOK_DEAD_LETTER_QUEUE]: recordDeadLetters,
};

export async function consumeQueue(batch: MessageBatch, env: Env): Promise<void> {
  const consumer = CONSUMERS[batch.queue];
  if (!consumer) {
    log("queue_unknown", { queue: batch.queue, messages: batch.messages.length });
    throw new Error(`no consumer for queue ${batch.queue}`);
  }
  await consumer(batch, env, openStore(env));
}
