// @ts-check
/**
 * Phase 9, cost: the storage each operation uses, counted by the storage meter of the metered
 * entries (no delay). Each operation runs `ops` times (4 at a time, untimed); the counters are
 * zeroed before and read after (waitUntil work included), then divided by `ops`. An answer that
 * is not the expected one is reported in the line's note, never silently averaged in.
 */
import { seedFloor } from "./floors.js";
import { perOperation, readCounters, resetCounters } from "./meter-client.js";
import { benchLink, call, issueBatch, issueOne, pool, tap } from "./service.js";

/** @typedef {import("./storage-cost.js").CostLine} CostLine */

const CONCURRENCY = 4;

/**
 * Runs `task` over `items`, returning the storage use per item and a note on unexpected answers.
 * @template T
 * @param {string} base @param {T[]} items @param {(item: T) => Promise<number>} task
 * @param {number} expected  the status every answer should have
 */
async function counted(base, items, task, expected) {
  await resetCounters(base);
  const statuses = await pool(items, CONCURRENCY, task);
  const counters = await readCounters(base, { reset: true });
  const wrong = statuses.filter((s) => s !== expected).length;
  return {
    perOp: perOperation(counters, items.length),
    note: wrong > 0 ? `${wrong} of ${items.length} answers were not ${expected}` : undefined,
  };
}

const range = (/** @type {number} */ n) => Array.from({ length: n }, (_, i) => i);

/**
 * The service (metered entry): issue (POST /v1/links), tap of a fresh link, refused tap (used
 * link, no cookie), and batch issue per link.
 * @param {{ base: string; ops: number; tag: string; batchSize: number }} options
 * @returns {Promise<CostLine[]>}
 */
export async function countServiceCosts({ base, ops, tag, batchSize }) {
  /** @type {string[]} */
  const ids = [];
  const issue = await counted(
    base,
    range(ops),
    async (n) => {
      const result = await issueOne(base, benchLink(`${tag}-cost`, n));
      if (result.id) ids.push(result.id);
      return result.status;
    },
    201,
  );
  if (ids.length === 0) throw new Error("the service issued no link to tap");
  const fresh = await counted(base, ids, (id) => tap(base, id), 302);
  const refused = await counted(base, ids, (id) => tap(base, id), 410);
  const links = range(Math.min(ops, batchSize)).map((n) => benchLink(`${tag}-costb`, n));
  await resetCounters(base);
  const batch = await issueBatch(base, links);
  const batchCounters = await readCounters(base, { reset: true });
  return [
    { label: "service: issue, POST /v1/links", count: ops, part: "service", ...issue },
    { label: "service: tap, fresh link", count: ids.length, part: "service", ...fresh },
    { label: "service: refused tap, used link", count: ids.length, ...refused },
    {
      label: "service: batch issue, per link",
      count: links.length,
      perOp: perOperation(batchCounters, links.length),
      note:
        batch.ids.length === links.length
          ? undefined
          : `the batch issued ${batch.ids.length} of ${links.length} links (status ${batch.status})`,
    },
  ];
}

/**
 * The naive floors (metered entry): issue, tap of a fresh id, refused tap of a used one.
 * @param {{ base: string; ops: number; tag: string }} options
 * @returns {Promise<CostLine[]>}
 */
export async function countFloorCosts({ base, ops, tag }) {
  const status = async (/** @type {string} */ path, method = "GET") =>
    (await call(base, path, { method })).status;
  const issue = await counted(base, range(ops), () => status("/issue", "POST"), 201);
  const ids = await seedFloor(base, "tap", `fc${tag}`, ops);
  const fresh = await counted(base, ids, (id) => status(`/tap/${id}`), 302);
  const refused = await counted(base, ids, (id) => status(`/refused/${id}`), 410);
  return [
    { label: "floor: issue (KV write, D1 insert)", count: ops, part: "floor", ...issue },
    { label: "floor: tap (KV read, D1 batch, KV write)", count: ops, part: "floor", ...fresh },
    { label: "floor: refused tap (KV read, D1 write)", count: ops, ...refused },
  ];
}
