/**
 * Bench-only entry of the stats phase: the metered service (index.ts's meter) with every request
 * its own invocation for the meter (AsyncLocalStorage, so the six-connection cap and the
 * in-flight count are per request as in production, whatever the concurrency), and the ledger
 * setup routes for its 32 local shards (ledger-setup.ts). The bench runs it with a configuration
 * generated from the service's wrangler.toml (bench/lib/stats-config.js), which adds the shard
 * bindings and the `nodejs_als` flag this entry needs.
 *
 * The flat-shard phase (bench/flat-shards.js) times one shard's operations through shard-ops.ts.
 *
 * `GET /__bench/round` is the floor of a stats answer, metered the same way: one round over every
 * shard, six at a time, each shard one batch of three trivial statements, nothing read or merged.
 * Locally all shards are served by one process, so this floor is most of what any answer costs.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { shardBinding } from "../../../src/config/config";
import type { Env } from "../../../src/config/env";
import service from "../../../src/index";
import { InvocationLimits } from "../../../src/store/limits";
import { type Invocation, meterWorker, newInvocation, StorageMeter } from "../lib/storage-meter";
import { withLedgerSetup } from "./ledger-setup";
import { withShardOps } from "./shard-ops";

const meter = new StorageMeter();
const invocations = new AsyncLocalStorage<Invocation>();
meter.scopes = {
  run: (handle) => invocations.run(newInvocation(), handle),
  current: () => invocations.getStore(),
};

/** One round of trivial batches over every shard, six at a time (the floor of a stats answer). */
const oneRound = {
  async fetch(_request: Request, env: Env): Promise<Response> {
    const limits = new InvocationLimits();
    const shards = Array.from({ length: Number(env.LEDGER_SHARDS ?? "1") }, (_, i) => i);
    await Promise.all(
      shards.map((shard) => {
        const db = env[shardBinding(shard)] as D1Database;
        return limits.query(() =>
          db.batch(["SELECT 1", "SELECT 2", "SELECT 3"].map((sql) => db.prepare(sql))),
        );
      }),
    );
    return new Response("one round");
  },
};

const metered = meterWorker<Env, ExecutionContext, ScheduledController>(service, meter);
const meteredRound = meterWorker<Env, ExecutionContext, ScheduledController>(oneRound, meter);

export default withShardOps(
  withLedgerSetup({
    ...metered,
    fetch(request: Request, env: Env, ctx: ExecutionContext) {
      if (new URL(request.url).pathname === "/__bench/round") {
        // The meter's own routes live under /__bench/: hand the round its own path.
        return meteredRound.fetch(new Request(new URL("/", request.url)), env, ctx);
      }
      return metered.fetch(request, env, ctx);
    },
  }),
);
