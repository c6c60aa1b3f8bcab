/**
 * The plan audit: every statement the features register (test/query-plans/, through
 * test/helpers/query-plans.ts) is explained by SQLite on a migrated shard, and none may scan a
 * table that grows with invites (invites, click_events, any contact or suppression table) or
 * scan anything once per row of one (test/helpers/plan-rules.ts). So every hot query stays on an
 * index at any size, which the bench's fill_ratio then measures (bench/README.md).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { growingTables, type PlanRow, planProblems } from "./helpers/plan-rules";
import { recordedStatements } from "./helpers/query-plans";
import "./query-plans/privacy";
import "./query-plans/reconcile";
import "./query-plans/retention";
import "./query-plans/stats";
import "./query-plans/store";

describe("query plans", () => {
  it("no registered statement scans a growing table, whole or once per row", async () => {
    const { results: schema } = await env.DB.prepare(
      "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'index')",
    ).all<{ type: string; name: string; sql: string | null }>();
    const growing = growingTables(schema.filter((t) => t.type === "table").map((t) => t.name));
    const partial = new Set(
      schema.filter((i) => i.type === "index" && /\bWHERE\b/i.test(i.sql ?? "")).map((i) => i.name),
    );
    const statements = await recordedStatements();
    expect(statements.length).toBeGreaterThan(40);
    const problems: string[] = [];
    for (const s of statements) {
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${s.sql}`)
        .bind(...s.params)
        .all<PlanRow>();
      for (const problem of planProblems(results, growing, partial)) {
        problems.push(`${s.feature} / ${s.name}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
