/**
 * The webhooks queues and how messages go onto them: in batches of the most Queues takes at
 * once, each send on one of the invocation's connections (it counts as one, like a storage call).
 */
import type { Store } from "../store/store";
import type { EventMessage } from "./events";

/** The queues' names (wrangler.toml), which the Worker's queue handler dispatches on. */
export const WEBHOOK_QUEUE = "invite-edge-webhooks";
export const WEBHOOK_DEAD_LETTER_QUEUE = "invite-edge-webhooks-dead";

/** Messages per `sendBatch` (the Queues limit). */
const SEND_BATCH = 100;

export async function enqueueMessages(
  store: Store,
  queue: Queue,
  bodies: readonly EventMessage[],
): Promise<void> {
  for (let i = 0; i < bodies.length; i += SEND_BATCH) {
    const messages = bodies.slice(i, i + SEND_BATCH).map((body) => ({ body }));
    await store.limits.connection(() => queue.sendBatch(messages));
  }
}
