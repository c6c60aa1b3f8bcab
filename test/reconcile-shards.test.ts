/**
 * Reconcile across shards: one import carries invites from every shard, and the steps that span
 * the control database and the shards survive a run dying between them. A "dead" run is one
 * whose promise never settles, as when the runtime kills it.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runReconcile } from "../src/reconcile/run";
import { inviteIdShard } from "../src/tokens/ids";
import { eventually } from "./helpers/api";
import { SHARDS, wrapShards } from "./helpers/ledger";
import {
  afterLease,
  exactlyOnce,
  type Fake,
  fakeState,
  fast,
  inviteRows,
  never,
  pushedOnce,
  qualtricsEnv,
  resetLedger,
  seedInvites,
  startFake,
  stopFakes,
} from "./helpers/reconcile";

beforeEach(resetLedger);
afterEach(stopFakes);

/**
 * The shard binding, except that statements matching `sql` never return, run alone or in a
 * batch: the run dies there.
 */
function hangingOn(db: D1Database, sql: RegExp, started: () => void): D1Database {
  const hanging = new WeakSet<object>();
  const hang = () => {
    started();
    return never();
  };
  const hangingStatement = (statement: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get: (s, p) => {
        if (p === "bind") return (...values: unknown[]) => hangingStatement(s.bind(...values));
        if (p === "all" || p === "run" || p === "first" || p === "raw") return hang;
        const value = Reflect.get(s, p);
        return typeof value === "function" ? value.bind(s) : value;
      },
    });
    hanging.add(proxy);
    return proxy;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") {
        return (query: string) => {
          const statement = target.prepare(query);
          return sql.test(query) ? hangingStatement(statement) : statement;
        };
      }
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) =>
          statements.some((s) => hanging.has(s)) ? hang() : target.batch(statements);
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Starts a run that dies in the last shard at the first statement matching `sql`. */
async function runDyingAt(fake: Fake, sql: RegExp): Promise<void> {
  let hanging = false;
  const dying = {
    ...qualtricsEnv(fake),
    ...wrapShards((db, shard) =>
      shard === SHARDS - 1
        ? hangingOn(db, sql, () => {
            hanging = true;
          })
        : db,
    ),
  };
  void runReconcile(dying, fast());
  await eventually(async () => expect(hanging).toBe(true));
}

describe(`reconcile over ${SHARDS} shard(s)`, () => {
  it("one import carries invites from every shard, each pushed once", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await seedInvites(400);
    expect(new Set(ids.map(inviteIdShard)).size).toBe(SHARDS);
    const run = await runReconcile(qualtricsEnv(fake), fast());
    expect(run).toMatchObject({ status: "ok", imports: 1, pushed: 400, unprocessed: 0 });
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(400));
    expect((await inviteRows(ids)).every((r) => r.pushed_at !== null)).toBe(true);
  });

  it("a run that dies while its shards reserve an import never sends it; the next run pushes each invite once", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await seedInvites(120);
    await runDyingAt(fake, /SET push_ref = \?1/);
    // Other shards may have reserved their share; nothing was sent.
    expect((await fakeState(fake)).transactions).toHaveLength(0);

    const next = await runReconcile(qualtricsEnv(fake), fast({ now: afterLease() }));
    expect(next).toMatchObject({ status: "ok", imports: 1, pushed: 120 });
    const state = await fakeState(fake);
    expect(Object.keys(state.imports)).toHaveLength(1);
    expect(exactlyOnce(state, ids)).toEqual(pushedOnce(120));
  });

  it("a run that dies while settling an import in its shards is finished by the next run", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await seedInvites(80);
    await runDyingAt(fake, /SET pushed_at = \?2/);

    const next = await runReconcile(qualtricsEnv(fake), fast({ now: afterLease() }));
    expect(next).toMatchObject({ status: "ok", imports: 0, pushed: 80 });
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(80));
    expect((await inviteRows(ids)).every((r) => r.pushed_at !== null)).toBe(true);
  });
});
