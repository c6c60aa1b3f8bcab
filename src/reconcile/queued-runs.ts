/**
 * Runs asked for with `POST /v1/reconcile` and `Prefer: respond-async`: the request records the
 * run as `queued` and sends its id to the reconcile queue; the queue's consumer runs it in an
 * invocation of its own (a queue consumer may run 15 minutes; a request's `waitUntil` is stopped
 * about 30 s after the answer, shorter than a reconcile run). Delivery is at least once: a
 * message whose run already ran is acknowledged and nothing more happens.
 */
import type { Env } from "../config/env";
import { controlDb, type Store } from "../store/store";
import { newRunId, runReconcile } from "./run";
import { getRun, insertQueuedRun, type RunRow } from "./storage/runs";

/** The queue's name (wrangler.toml), which the Worker's queue handler dispatches on. */
export const RECONCILE_QUEUE = "invite-edge-reconcile";

interface QueuedRunMessage {
  runId: string;
}

const isQueuedRunMessage = (body: unknown): body is QueuedRunMessage =>
  typeof body === "object" && body !== null && typeof Reflect.get(body, "runId") === "string";

/**
 * Records a queued run and sends it to the queue (on one of the request's connections); null when
 * this deployment has no reconcile queue bound (the caller then runs it in the request, as without
 * the preference).
 */
export async function queueReconcile(env: Env, store: Store, at: number): Promise<RunRow | null> {
  const queue = env.RECONCILE_QUEUE;
  if (!queue) return null;
  const run = await insertQueuedRun(controlDb(store), { id: newRunId(), at });
  const message: QueuedRunMessage = { runId: run.id };
  await store.limits.connection(() => queue.send(message));
  return run;
}

/**
 * The reconcile queue's consumer: each message runs its queued run, once, with the queue
 * invocation's store.
 */
export async function runQueuedReconciles(
  batch: MessageBatch,
  env: Env,
  store: Store,
): Promise<void> {
  for (const message of batch.messages) {
    if (!isQueuedRunMessage(message.body)) {
      message.ack(); // not ours to run; retrying would not make it so
      continue;
    }
    const run = await getRun(controlDb(store), message.body.runId);
    if (run?.status === "queued") {
      await runReconcile(env, { trigger: "api", runId: run.id, store });
    }
    message.ack();
  }
}
