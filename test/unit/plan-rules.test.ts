import { describe, expect, it } from "vitest";
import { growingTables, type PlanRow, planProblems } from "../helpers/plan-rules";

const growing = growingTables(["invites", "click_events", "contact_rules", "invite_counts"]);
const plan = (...details: [number, string][]): PlanRow[] =>
  details.map(([parent, detail], i) => ({ id: i + 2, parent, detail }));

describe("the plan audit's rules", () => {
  it("names the tables that grow with invites", () => {
    expect([...growing].sort()).toEqual(["click_events", "contact_rules", "invites"]);
  });

  it("refuses a full scan of a growing table, but not of a rollup or a queue's partial index", () => {
    expect(planProblems(plan([0, "SCAN invites"]), growing)).toHaveLength(1);
    expect(planProblems(plan([0, "SCAN click_events USING INDEX x"]), growing)).toHaveLength(1);
    expect(planProblems(plan([0, "SCAN invite_counts"]), growing)).toEqual([]);
    const queue = plan([0, "SCAN invites USING INDEX invites_push_queue"]);
    expect(planProblems(queue, growing, new Set(["invites_push_queue"]))).toEqual([]);
    expect(planProblems(queue, growing)).toHaveLength(1);
  });

  it("refuses the plan that read all of a survey's invites, then json_each for each one", () => {
    const marking = plan(
      [0, "SEARCH invites USING INDEX sqlite_autoindex_invites_2 (survey=?)"],
      [0, "SCAN c VIRTUAL TABLE INDEX 1:"],
    );
    expect(planProblems(marking, growing)).toEqual([
      "search of invites by a key that many rows share: SEARCH invites USING INDEX sqlite_autoindex_invites_2 (survey=?)",
      "per-row scan for each row of invites: SCAN c VIRTUAL TABLE INDEX 1:",
    ]);
  });

  it("accepts a list driving lookups by id, and a narrow search", () => {
    const byId = plan(
      [0, "SCAN c VIRTUAL TABLE INDEX 1:"],
      [0, "SEARCH invites USING INDEX sqlite_autoindex_invites_1 (id=?)"],
    );
    expect(planProblems(byId, growing)).toEqual([]);
    const narrow = plan([
      0,
      "SEARCH invites USING INDEX invites_awaiting_response (survey=? AND consumed_at>?)",
    ]);
    expect(planProblems(narrow, growing)).toEqual([]);
  });
});
