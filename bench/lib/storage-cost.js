// @ts-check
/**
 * What an invite costs on Cloudflare at list prices, from the storage use the cost phase counted
 * (bench/lib/meter-client.js): the prices with their sources, the price of one operation, and
 * the Markdown tables of BENCHMARKS.md that let a reader redo the sums.
 *
 * Workers Paid list prices, beyond the monthly included amounts (which this ignores: at the
 * volumes that matter they are a rounding error). CPU time ($0.02 per million CPU ms) is not
 * counted: the meter counts storage, not CPU.
 */
import { fmt } from "./report.js";

/** @typedef {import("./meter-client.js").Counters} Counters */

export const PRICE_SOURCES = {
  workers: "https://developers.cloudflare.com/workers/platform/pricing/",
  kv: "https://developers.cloudflare.com/kv/platform/pricing/",
  d1: "https://developers.cloudflare.com/d1/platform/pricing/",
};

/** USD per million units, and where Cloudflare publishes each. */
export const PRICES = /** @type {const} */ ({
  request: { usd: 0.3, unit: "Workers request", source: PRICE_SOURCES.workers },
  kvRead: { usd: 0.5, unit: "KV read", source: PRICE_SOURCES.kv },
  kvWrite: { usd: 5.0, unit: "KV write", source: PRICE_SOURCES.kv },
  kvDelete: { usd: 5.0, unit: "KV delete", source: PRICE_SOURCES.kv },
  kvList: { usd: 5.0, unit: "KV list", source: PRICE_SOURCES.kv },
  d1RowRead: { usd: 0.001, unit: "D1 row read", source: PRICE_SOURCES.d1 },
  d1RowWritten: { usd: 1.0, unit: "D1 row written", source: PRICE_SOURCES.d1 },
});

/**
 * USD per million operations that each use `c` (counts per operation).
 * @param {Counters} c
 */
export function usdPerMillion(c) {
  return (
    c.requests * PRICES.request.usd +
    c.kvReads * PRICES.kvRead.usd +
    c.kvWrites * PRICES.kvWrite.usd +
    c.kvDeletes * PRICES.kvDelete.usd +
    c.kvLists * PRICES.kvList.usd +
    c.d1RowsRead * PRICES.d1RowRead.usd +
    c.d1RowsWritten * PRICES.d1RowWritten.usd
  );
}

/**
 * One line of the cost table: storage use per operation, averaged over `count` operations.
 * `part` marks the lines that add up to an invite (service or floor).
 * @typedef {{ label: string; perOp: Counters; count: number; part?: "service" | "floor";
 *   note?: string }} CostLine
 */

/**
 * The cost of an invite, service and floor, from the lines that are parts of it.
 * @param {CostLine[]} lines
 * @returns {{ service: number | null; floor: number | null; complete: boolean }}
 */
export function inviteCosts(lines) {
  /** @param {"service" | "floor"} part */
  const sum = (part) => {
    const parts = lines.filter((l) => l.part === part);
    return parts.length === 0 ? null : parts.reduce((s, l) => s + usdPerMillion(l.perOp), 0);
  };
  // An invite is one issue + one tap (+ the reconcile share for the service): all must be there.
  const complete =
    lines.filter((l) => l.part === "service").length === 3 &&
    lines.filter((l) => l.part === "floor").length === 2;
  return { service: sum("service"), floor: sum("floor"), complete };
}

/** A price as the formula shows it: at least two decimals (0.30, 5.00), more when it has them. */
const usd = (/** @type {number} */ n) =>
  n.toFixed(Math.max(2, String(n).split(".")[1]?.length ?? 0));

/**
 * The sum `usdPerMillion` computes, in words, with the prices of PRICES (KV writes, deletes and
 * lists share a price, so they share a term while they do).
 */
function priceFormula() {
  const kvWrites =
    PRICES.kvDelete.usd === PRICES.kvWrite.usd && PRICES.kvList.usd === PRICES.kvWrite.usd
      ? `(KV writes + deletes + lists) × ${usd(PRICES.kvWrite.usd)}`
      : `KV writes × ${usd(PRICES.kvWrite.usd)} + KV deletes × ${usd(PRICES.kvDelete.usd)} + KV lists × ${usd(PRICES.kvList.usd)}`;
  return (
    `USD per million = requests × ${usd(PRICES.request.usd)} + KV reads × ${usd(PRICES.kvRead.usd)} + ${kvWrites} +\n` +
    `D1 rows read × ${usd(PRICES.d1RowRead.usd)} + D1 rows written × ${usd(PRICES.d1RowWritten.usd)}`
  );
}

/** @param {number} n */
const count = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 0.01 ? 6 : 3));

/**
 * The cost section of BENCHMARKS.md: counts per operation, prices, the sums.
 * @param {{ lines: CostLine[]; servicePerInvite: number | null; floorPerInvite: number | null }} cost
 */
export function costMarkdown({ lines, servicePerInvite, floorPerInvite }) {
  const header =
    "| operation | averaged over | requests | KV reads | KV writes | KV deletes + lists | D1 rows read | D1 rows written | storage calls | USD per million |";
  const table = [
    header,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...lines.map((l) => {
      const c = l.perOp;
      return `| ${l.label}${l.part ? "" : " ¹"} | ${l.count} | ${count(c.requests)} | ${count(c.kvReads)} | ${count(c.kvWrites)} | ${count(c.kvDeletes + c.kvLists)} | ${count(c.d1RowsRead)} | ${count(c.d1RowsWritten)} | ${count(c.kvRoundTrips + c.d1RoundTrips)} | ${fmt(usdPerMillion(c))} |`;
    }),
  ].join("\n");
  const prices = [
    "| unit | USD per million | source |",
    "|---|---:|---|",
    ...Object.values(PRICES).map((p) => `| ${p.unit} | ${p.usd.toFixed(3)} | ${p.source} |`),
  ].join("\n");
  const notes = lines.filter((l) => l.note).map((l) => `- ${l.label}: ${l.note}`);
  return `### Cost per invite

Counted by the storage meter on the metered entries (KV operations by call, D1 rows from each
result's \`meta.rows_read\` / \`meta.rows_written\`, as D1 bills them), averaged per operation.
An invite is one issue + one tap + (service only) its share of the reconcile runs that pushed it
to Qualtrics; the floor's invite is one naive issue + one naive tap.

${table}

¹ for comparison, not part of an invite.

- service, per invite: **${fmt(servicePerInvite)} USD per million invites**
- floor, per invite: ${fmt(floorPerInvite)} USD per million invites
- cost_vs_floor = service ÷ floor = ${fmt(servicePerInvite !== null && floorPerInvite ? servicePerInvite / floorPerInvite : null)}
${notes.length > 0 ? `\n${notes.join("\n")}\n` : ""}
${priceFormula()}, with the counts per operation above and the
Workers Paid list prices below (beyond the monthly included amounts; CPU time, $0.02 per
million CPU ms, and storage per GB-month are not counted).

${prices}`;
}
