/** The reconcile feature's public face: a run (scheduled or on demand) and its API. */
export { reconcileRoutes } from "./routes";
export { runReconcile } from "./run";
