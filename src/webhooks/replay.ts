/**
 * Replay (`POST /v1/webhooks/deliveries/replay`): failed or dead deliveries go on the queue
 * again as they were first sent, with the same `webhook-id`, each to its subscription (an event
 * that never reached one is fanned out again). They are then retried like any delivery.
 */
import type { Env } from "../config/env";
import { controlDb, type Store } from "../store/store";
import { enqueueMessages } from "./enqueue";
import { type EventMessage, readEventMessage } from "./events";
import { findReplayable, markReplayed } from "./storage/deliveries";

export class NoWebhookQueue extends Error {
  override name = "NoWebhookQueue";
}

interface ReplayResult {
  replayed: { eventId: string; subscription: string | null }[];
  notFound: string[];
}

export async function replayDeliveries(
  env: Env,
  store: Store,
  ids: readonly string[],
  subscription: string | undefined,
  now: number,
): Promise<ReplayResult> {
  const queue = env.WEBHOOK_QUEUE;
  if (!queue) throw new NoWebhookQueue("no WEBHOOK_QUEUE is bound");
  const db = controlDb(store);
  const rows = await findReplayable(db, ids, subscription);
  const messages: EventMessage[] = [];
  const sent: typeof rows = [];
  for (const row of rows) {
    const parsed = readEventMessage({ event: JSON.parse(row.body) });
    if (!parsed) continue;
    messages.push(
      row.subscription === ""
        ? { event: parsed.event, replayed: true }
        : { event: parsed.event, subscription: row.subscription, replayed: true },
    );
    sent.push(row);
  }
  await enqueueMessages(store, queue, messages);
  await markReplayed(db, sent, now);
  const found = new Set(sent.map((r) => r.event_id));
  return {
    replayed: sent.map((r) => ({
      eventId: r.event_id,
      subscription: r.subscription === "" ? null : r.subscription,
    })),
    notFound: [...new Set(ids)].filter((id) => !found.has(id)),
  };
}
