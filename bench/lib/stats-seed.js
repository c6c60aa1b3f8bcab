// @ts-check
/**
 * Seeds the service's local D1 with many invites for the stats phase, directly
 * in SQL (no API calls): SQLite generates the rows itself from a recursive CTE,
 * so the SQL stays a few kilobytes whatever the row count.
 *
 * The invites columns live in ONE place, INVITE_SEED_COLUMNS below: align it
 * with migrations/0001_*.sql. At run time the seeder also reads the real table
 * (PRAGMA table_info) and inserts only the columns that exist, filling any other
 * NOT NULL column without a default with a placeholder, and says so.
 *
 * The stats rollups (migrations/0004_stats_rollup.sql) are filled by the
 * triggers on invites as the rows go in, the same way the service fills them,
 * so the seed time includes building them; ROLLUP_CHECK_SQL then checks them
 * against the invites, shard by shard.
 *
 * With several ledger shards each shard gets its own statements and its share of
 * the rows, with ids that name the shard the way the service's do
 * (src/tokens/ids.ts: two characters naming the shard, then 22), so a seeded
 * link is found where the service looks for it.
 */
/**
 * How the ledger stores times: "ms" / "s" since the epoch, or "iso" text.
 * @typedef {"ms" | "s" | "iso"} TimeFormat
 *
 * Row expressions see: n (1..rows, unique across shards), h (a pseudo-random
 * 0..1000002 derived from n), off (seconds after the start of the 30-day
 * window); `time(secondsExpr)` renders `window start + secondsExpr` in the
 * ledger's time format and `idPrefix` is the shard's two id characters.
 * @typedef {{ time: (seconds: string) => string; idPrefix: string }} SeedContext
 * @typedef {(context: SeedContext) => string} ColumnExpression
 */

/** The id alphabet of src/tokens/ids.ts (base64url). */
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The two characters that start the ids of invites in `shard` (as src/tokens/ids.ts). */
export function shardPrefix(/** @type {number} */ shard) {
  const size = ID_ALPHABET.length;
  return `${ID_ALPHABET[Math.floor(shard / size)]}${ID_ALPHABET[shard % size]}`;
}

/** The binding of ledger shard `shard` (as src/config/config.ts: DB, DB_1, DB_2, …). */
export const shardBinding = (/** @type {number} */ shard) => (shard === 0 ? "DB" : `DB_${shard}`);

/** The id of seeded row n in the shard with `idPrefix`: 2 + 22 characters. */
const seedId = (/** @type {string} */ idPrefix) => `'${idPrefix}' || printf('%022d', n)`;

/** Seconds from issue to first open for opened invites: 5 s to ~2 h. */
const OPEN_DELAY = "(5 + (h % 7200))";
/** About 45 % of invites are opened. */
const OPENED = "(h % 100 < 45)";

/**
 * The invites columns the seeder fills (migrations/0001_ledger.sql and the later
 * migrations), with the SQL expression of each. A column missing from the
 * table is skipped.
 * @type {Record<string, ColumnExpression>}
 */
export const INVITE_SEED_COLUMNS = {
  id: ({ idPrefix }) => seedId(idPrefix),
  survey: () => "CASE n % 3 WHEN 0 THEN 'demo' WHEN 1 THEN 'demo-ws' ELSE 'demo-confirm' END",
  customer_ref: () => "'cust-' || (n % 200000)",
  transaction_id: () => "'seed-txn-' || n",
  trigger: () =>
    "CASE n % 4 WHEN 0 THEN 'ticket_scanned' WHEN 1 THEN 'order_delivered' WHEN 2 THEN 'venue_exit' ELSE 'app_open' END",
  channel: () =>
    "CASE n % 5 WHEN 0 THEN 'in_app' WHEN 1 THEN 'push' WHEN 2 THEN 'sms' WHEN 3 THEN 'email' ELSE 'web' END",
  request_hash: () => "printf('%064x', n)",
  embedded_data: () =>
    `'{"venue":"V' || (n % 40) || '","event":"E' || (n % 7) || '","seat":"' || (n % 500) || '"}'`,
  issued_at: ({ time }) => time("off"),
  expires_at: ({ time }) => time("(off + 7 * 86400)"),
  consumed_at: ({ time }) => `CASE WHEN ${OPENED} THEN ${time(`(off + ${OPEN_DELAY})`)} END`,
  reopen_count: () => `CASE WHEN ${OPENED} AND h % 10 = 0 THEN 1 ELSE 0 END`,
  blocked_count: () => `CASE WHEN ${OPENED} AND h % 25 = 0 THEN 1 ELSE 0 END`,
  preview_count: () => "CASE WHEN h % 4 = 0 THEN 1 ELSE 0 END",
  revoked_at: ({ time }) =>
    `CASE WHEN NOT ${OPENED} AND h % 200 = 7 THEN ${time("(off + 60)")} END`,
  completed_at: ({ time }) =>
    `CASE WHEN ${OPENED} AND h % 3 = 0 THEN ${time(`(off + ${OPEN_DELAY} + 300)`)} END`,
  response_id: () => `CASE WHEN ${OPENED} AND h % 3 = 0 THEN 'R_seed' || n END`,
  pushed_at: () => "NULL",
  push_ref: () => "NULL",
  purged_at: () => "NULL",
};

/**
 * Invites seeded, and invites the stats rollups count: the bench notes any
 * difference. (Without migration 0004 the query fails and only invites count.)
 */
export const ROLLUP_CHECK_SQL =
  "SELECT (SELECT COUNT(*) FROM invites) AS invites, " +
  "(SELECT SUM(issued) FROM invite_counts) AS rolled, " +
  "(SELECT COUNT(consumed_at) FROM invites) AS opened, " +
  "(SELECT SUM(value) FROM time_sketches_by_day, json_each(buckets) WHERE metric = 'open') AS rolledOpened";

/**
 * @typedef {{ name: string; type: string; notnull: number; dflt_value: unknown; pk: number }} TableColumn
 */

/**
 * Plans the INSERT against the real table: which of our columns exist, which
 * of theirs need a placeholder, which of ours are unknown there.
 * @param {TableColumn[]} table
 */
function planColumns(table) {
  const names = new Set(table.map((c) => c.name));
  const used = Object.keys(INVITE_SEED_COLUMNS).filter((c) => names.has(c));
  const unknown = Object.keys(INVITE_SEED_COLUMNS).filter((c) => !names.has(c));
  const placeholders = table.filter((c) => {
    if (c.name in INVITE_SEED_COLUMNS || c.dflt_value !== null) return false;
    // An INTEGER PRIMARY KEY is the rowid: SQLite numbers it by itself.
    if (c.pk > 0) return !/^INTEGER$/i.test(c.type.trim());
    return c.notnull === 1;
  });
  return { used, unknown, placeholders };
}

/** A placeholder value for a required column we know nothing about (unique per row). */
function placeholder(/** @type {TableColumn} */ column) {
  return /INT|REAL|NUM|FLOA|DOUB/i.test(column.type) ? "n" : "'seed-' || n";
}

/**
 * Rows first..last of `rows` that shard `shard` of `shards` gets (contiguous, as even as can be).
 * @param {number} rows @param {number} shards @param {number} shard
 */
export function shardRows(rows, shards, shard) {
  const share = (/** @type {number} */ s) => Math.floor((rows * s) / shards);
  return { first: share(shard) + 1, last: share(shard + 1) };
}

/**
 * The seeding SQL of one shard: rows `first`..`last` of the invites issued over
 * the 30 days ending `now`, in chunks of 100,000 rows per statement, with ids
 * starting with `idPrefix`.
 * @param {{ first: number; last: number; idPrefix: string; now: number;
 *   timeFormat: TimeFormat; table: TableColumn[] }} options
 * @returns {{ statements: string[]; windowStart: Date; notes: string[]; firstId: string }}
 */
export function seedStatements({
  first: firstRow,
  last: lastRow,
  idPrefix,
  now,
  timeFormat,
  table,
}) {
  const day = 86_400_000;
  const windowStart = new Date(Math.floor(now / day) * day - 29 * day);
  const startSeconds = Math.floor(windowStart.getTime() / 1000);
  const spanSeconds = Math.max(1, Math.floor(now / 1000) - startSeconds - 1);
  /** @param {string} seconds */
  const time = (seconds) => {
    const at = `(${startSeconds} + ${seconds})`;
    if (timeFormat === "ms") return `(${at} * 1000)`;
    if (timeFormat === "s") return at;
    return `strftime('%Y-%m-%dT%H:%M:%SZ', ${at}, 'unixepoch')`;
  };
  const { used, unknown, placeholders } = planColumns(table);
  const columns = [...used, ...placeholders.map((c) => c.name)];
  const expressions = [
    ...used.map((c) => INVITE_SEED_COLUMNS[c]({ time, idPrefix })),
    ...placeholders.map(placeholder),
  ];
  /** @type {string[]} */
  const notes = [];
  if (unknown.length > 0) {
    notes.push(`seed columns not in invites (skipped): ${unknown.join(", ")}`);
  }
  if (placeholders.length > 0) {
    notes.push(
      `invites columns filled with placeholders: ${placeholders.map((c) => c.name).join(", ")}`,
    );
  }
  const chunk = 100_000;
  const statements = [];
  for (let first = firstRow; first <= lastRow; first += chunk) {
    const last = Math.min(lastRow, first + chunk - 1);
    statements.push(
      `INSERT INTO invites (${columns.join(", ")})\n` +
        `WITH RECURSIVE seq(n) AS (SELECT ${first} UNION ALL SELECT n + 1 FROM seq WHERE n < ${last}),\n` +
        `  rows AS (SELECT n, (n * 2654435761) % 1000003 AS h, (n * 7919) % ${spanSeconds} AS off FROM seq)\n` +
        `SELECT ${expressions.join(",\n  ")}\nFROM rows;`,
    );
  }
  return {
    statements,
    windowStart,
    notes,
    firstId: `${idPrefix}${String(firstRow).padStart(22, "0")}`,
  };
}

/**
 * The time format of the ledger, from a row the service itself wrote
 * (`typeof`/value of issued_at), else from the declared column type.
 * @param {{ type: string; value: unknown } | undefined} sample
 * @param {TableColumn[]} table
 * @returns {TimeFormat}
 */
export function timeFormatOf(sample, table) {
  if (sample?.type === "text") return "iso";
  if (sample && typeof sample.value === "number") return sample.value > 1e11 ? "ms" : "s";
  const declared = table.find((c) => c.name === "issued_at")?.type ?? "INTEGER";
  return /TEXT|CHAR|DATE/i.test(declared) ? "iso" : "ms";
}
