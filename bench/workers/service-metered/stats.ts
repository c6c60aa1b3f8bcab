/**
 * Bench-only entry of the stats phase: the metered service (index.ts's meter) with every request
 * its own invocation for the meter (AsyncLocalStorage, so the six-connection cap and the
 * in-flight count are per request as in production, whatever the concurrency), and the ledger
 * setup routes for its 32 local shards (ledger-setup.ts). The bench runs it with a
 * configuration generated from the service's wrangler.toml (bench/lib/stats-config.js), which
 * adds the shard bindings and the `nodejs_als` flag this entry needs.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Env } from "../../../src/config/env";
import service from "../../../src/index";
import { type Invocation, meterWorker, newInvocation, StorageMeter } from "../lib/storage-meter";
import { withLedgerSetup } from "./ledger-setup";

const meter = new StorageMeter();
const invocations = new AsyncLocalStorage<Invocation>();
meter.scopes = {
  run: (handle) => invocations.run(newInvocation(), handle),
  current: () => invocations.getStore(),
};

export default withLedgerSetup(
  meterWorker<Env, ExecutionContext, ScheduledController>(service, meter),
);
