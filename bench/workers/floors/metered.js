// @ts-check
/**
 * Bench-only entry: the naive floors (index.js) with their KV and D1 metered and, on request,
 * delayed per round trip, exactly like the service's metered entry
 * (../lib/storage-meter.ts). Run with this directory's wrangler.toml:
 * `wrangler dev metered.js` (the positional entry replaces `main`).
 */
import { meterWorker, StorageMeter } from "../lib/storage-meter";
import floors from "./index.js";

export default meterWorker(floors, new StorageMeter());
