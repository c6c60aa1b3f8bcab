/**
 * The registry of the plan audit: each feature registers the statements it can issue, by calling
 * its own query functions on the database (or store) it is handed, so the audit reads the SQL the
 * code really sends, with the values it binds. `test/query-plans.test.ts` records them on a
 * database that answers nothing, then runs `EXPLAIN QUERY PLAN` on each against a migrated shard.
 *
 * A template with optional clauses (filters, grouping) registers two entries: every clause on,
 * and every clause off. Register a new feature in `test/query-plans/<feature>.ts` and import it
 * from the audit.
 *
 * @example
 * registerStatements("retention", {
 *   "find invites to purge": (db) => findInvitesToPurge(db, Date.now(), 500),
 * });
 */
import { env } from "cloudflare:test";
import type { Env } from "../../src/config/env";
import { openStore, type Store } from "../../src/store/store";

/** Issues one or more statements on the given database or store (the results are empty). */
export type IssueStatements = (db: D1Database, store: Store) => Promise<unknown>;

const registry: { feature: string; name: string; issue: IssueStatements }[] = [];

export function registerStatements(
  feature: string,
  entries: Record<string, IssueStatements>,
): void {
  for (const [name, issue] of Object.entries(entries)) registry.push({ feature, name, issue });
}

/** One statement a feature sends: its SQL and the values bound to it. */
export interface RecordedStatement {
  feature: string;
  name: string;
  sql: string;
  params: unknown[];
}

const EMPTY = { results: [], success: true, meta: { changes: 0, last_row_id: 0 } };

/** A D1 database that records every statement prepared on it and answers nothing. */
function recordingDatabase(seen: { sql: string; params: unknown[] }[]): D1Database {
  const statement = (sql: string, params: unknown[]): D1PreparedStatement => {
    const entry = { sql, params };
    seen.push(entry);
    const self = {
      bind: (...values: unknown[]) => {
        entry.params = values;
        return self;
      },
      first: async () => null,
      all: async () => EMPTY,
      run: async () => EMPTY,
      raw: async () => [],
    };
    return self as unknown as D1PreparedStatement;
  };
  const db = {
    prepare: (sql: string) => statement(sql, []),
    batch: async (statements: unknown[]) => statements.map(() => EMPTY),
    exec: async () => ({ count: 0, duration: 0 }),
  };
  return db as unknown as D1Database;
}

/** Every registered statement, as the features issue them (a failure after the SQL is fine). */
export async function recordedStatements(): Promise<RecordedStatement[]> {
  const recorded: RecordedStatement[] = [];
  for (const { feature, name, issue } of registry) {
    const seen: { sql: string; params: unknown[] }[] = [];
    const db = recordingDatabase(seen);
    const store = openStore({ ...env, LEDGER_SHARDS: "1", DB: db } as Env);
    try {
      await issue(db, store);
    } catch {
      // An empty answer may stop the code after its first statements: those are recorded.
    }
    if (seen.length === 0) throw new Error(`${feature}: "${name}" issued no statement`);
    for (const s of seen) recorded.push({ feature, name, ...s });
  }
  return recorded;
}
