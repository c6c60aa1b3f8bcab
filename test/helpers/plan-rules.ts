/**
 * What the plan audit refuses in an `EXPLAIN QUERY PLAN` (test/query-plans.test.ts): a full scan
 * of a table that grows with traffic (invites, click_events, contact or suppression tables), and
 * a per-row scan, where a scan runs again for every row found in such a table (the plan of
 * marking completions that read all of a survey's invites, then scanned `json_each` for each).
 * A search by survey, trigger or channel alone counts as a scan: it reads every invite of the
 * survey. Pure, so its rules have their own unit test (test/unit/plan-rules.test.ts).
 */

/** One row of `EXPLAIN QUERY PLAN`. */
export interface PlanRow {
  id: number;
  parent: number;
  detail: string;
}

/** Tables that grow with invites: never scanned whole, never the outer loop of a scan. */
export function growingTables(tableNames: readonly string[]): Set<string> {
  return new Set(
    tableNames.filter(
      (name) => name === "invites" || name === "click_events" || /contact|suppression/i.test(name),
    ),
  );
}

/** Columns shared by a great many invites: a search by them alone reads all of those. */
const BROAD_KEY = /\((?:(?:survey|trigger|channel)=\?(?: AND )?)+\)$/;

const STEP = /^(SCAN|SEARCH) (\S+)(?: AS (\S+))?/;

/** A scan of a partial index reads only the rows of a queue (its WHERE), not the whole table. */
const PARTIAL_SCAN = /^SCAN \S+ USING (?:COVERING )?INDEX (\S+)/;

/**
 * What is wrong with this plan, one sentence each; empty when it is fine. `partialIndexes` names
 * the indexes with a WHERE clause: scanning one in order (a queue, oldest first) is allowed.
 */
export function planProblems(
  rows: readonly PlanRow[],
  growing: ReadonlySet<string>,
  partialIndexes: ReadonlySet<string> = new Set(),
): string[] {
  const problems: string[] = [];
  const siblings = new Map<number, PlanRow[]>();
  for (const row of rows) siblings.set(row.parent, [...(siblings.get(row.parent) ?? []), row]);
  for (const group of siblings.values()) {
    let outerGrowing: string | null = null;
    for (const row of group) {
      const step = STEP.exec(row.detail);
      if (!step) continue;
      const [, kind, table] = step;
      const isGrowing = growing.has(table ?? "");
      const queue = PARTIAL_SCAN.exec(row.detail)?.[1];
      const whole = kind === "SCAN" && !(queue && partialIndexes.has(queue));
      if (whole && isGrowing) problems.push(`full scan of ${table}: ${row.detail}`);
      else if (whole && outerGrowing) {
        problems.push(`per-row scan for each row of ${outerGrowing}: ${row.detail}`);
      }
      if (kind === "SEARCH" && isGrowing && BROAD_KEY.test(row.detail)) {
        problems.push(`search of ${table} by a key that many rows share: ${row.detail}`);
      }
      if (isGrowing && outerGrowing === null) outerGrowing = table ?? null;
    }
  }
  return problems;
}
