/**
 * The stats table as CSV (RFC 4180: CRLF, quoted when needed): a header row, one row per group,
 * then a `(total)` row. Numbers are written as in the JSON answer; null is an empty cell.
 */
import type { Stats, StatsTotals } from "./schema";

/** Columns after the group key, in order (the JSON field names), then the suppressions'. */
const CSV_COLUMNS = [
  "issued",
  "opened",
  "reopened",
  "crossBrowser",
  "previews",
  "blocked",
  "expired",
  "revoked",
  "completed",
  "openRate",
  "completionRate",
  "medianSecondsToOpen",
  "p90SecondsToOpen",
] as const satisfies readonly (keyof StatsTotals)[];

/** Suppressions (added in 0.2.0): the total, then one column per reason. */
const SUPPRESSED_COLUMNS = ["opted_out", "sampled_out", "frequency", "cap"] as const;
const HEADER = [
  ...CSV_COLUMNS,
  "suppressed",
  ...SUPPRESSED_COLUMNS.map((reason) => `suppressed_${reason}`),
];

/** Key of the totals row; no survey, trigger, channel or day can be spelled with parentheses. */
const CSV_TOTAL_KEY = "(total)";

function cell(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  // A leading = + - @ makes spreadsheets evaluate the cell as a formula; quote it as text.
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function line(key: string, values: StatsTotals): string {
  return [
    cell(key),
    ...CSV_COLUMNS.map((column) => cell(values[column])),
    cell(values.suppressed),
    ...SUPPRESSED_COLUMNS.map((reason) => cell(values.suppressedByReason[reason])),
  ].join(",");
}

/**
 * @example
 * statsCsv(stats) // "day,issued,opened,…\r\n2026-11-28,3,2,…\r\n(total),3,2,…\r\n"
 */
export function statsCsv(stats: Stats): string {
  const lines = [
    [stats.groupBy, ...HEADER].join(","),
    ...stats.rows.map((row) => line(row.key, row)),
    line(CSV_TOTAL_KEY, stats.totals),
  ];
  return `${lines.join("\r\n")}\r\n`;
}

/** `invite-stats-2026-10-30-2026-11-28.csv` */
export const csvFilename = (stats: Pick<Stats, "from" | "to">): string =>
  `invite-stats-${stats.from}-${stats.to}.csv`;
