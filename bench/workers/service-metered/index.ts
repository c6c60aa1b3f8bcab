/**
 * Bench-only entry: the service (src/index.ts) with its KV and D1 metered and, on request,
 * delayed per round trip (bench/workers/lib/storage-meter.ts). The bench runs it with the
 * service's own wrangler.toml (`wrangler dev bench/workers/service-metered/index.ts --config
 * wrangler.toml`), so bindings and vars are the service's, never a copy.
 */
import type { Env } from "../../../src/config/env";
import service from "../../../src/index";
import { meterWorker, StorageMeter } from "../lib/storage-meter";

export default meterWorker<Env, ExecutionContext, ScheduledController>(service, new StorageMeter());
