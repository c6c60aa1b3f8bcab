/** The reconcile feature's public face: a run (scheduled, on demand or queued) and its API. */

export { AWAITING_RESPONSE_DAYS } from "./completions";
export { RECONCILE_QUEUE, runQueuedReconciles } from "./queued-runs";
export { reconcileRoutes } from "./routes";
export { runReconcile } from "./run";
