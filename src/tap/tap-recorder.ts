/**
 * Write-behind for the taps that do not claim (re-opens, refusals, previews, dead links). Their
 * counters and click events are not needed to answer the tap, so the records of all taps an
 * isolate serves within a few milliseconds go to their shard in one batch instead of one write each:
 * at a venue's peak that divides the ledger's writes for them by the number of taps per flush.
 *
 * The flush runs in the `waitUntil` of the tap that opened the window, so the runtime keeps it
 * alive until the batch is written; a failed batch is retried once, then logged (never thrown
 * at a customer). Claims never go through here: they are written before the redirect.
 */
import { describeError, log } from "../core/log";
import { recordTaps, type TapRecord } from "../store/invite-rows";
import { type Store, shardOf } from "../store/store";
import { inviteIdShard } from "../tokens/ids";

/** How long a flush waits for more taps: small next to a tap's own latency. */
const FLUSH_DELAY_MS = 10;
/** A window holding this many records takes no more: the next tap opens a new one. */
const MAX_RECORDS = 200;

interface Window {
  records: TapRecord[];
}

// One open window per shard of the isolate (tests may wrap the binding: a wrapped one is another
// shard key). A window's flush writes through the store of the tap that opened it.
const open = new WeakMap<object, Window>();

async function flush(key: object, db: D1Database, window: Window): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS));
  if (open.get(key) === window) open.delete(key);
  try {
    await recordTaps(db, window.records);
  } catch {
    try {
      await recordTaps(db, window.records);
    } catch (error) {
      log("tap_records_lost", {
        records: window.records.length,
        error: describeError(error),
      });
    }
  }
}

/** Queues a tap record; the tap that opens a window hands its flush to `waitUntil`. */
export function recordTapLater(
  store: Store,
  record: TapRecord,
  waitUntil: (promise: Promise<unknown>) => void,
): void {
  const db = shardOf(store, record.inviteId);
  const key = store.shardKey(inviteIdShard(record.inviteId));
  if (!db || !key) return; // an id naming no shard has no invite to count
  const current = open.get(key);
  if (current && current.records.length < MAX_RECORDS) {
    current.records.push(record);
    return;
  }
  const window: Window = { records: [record] };
  open.set(key, window);
  waitUntil(flush(key, db, window));
}
