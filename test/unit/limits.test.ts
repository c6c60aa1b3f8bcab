/**
 * One invocation's limits (src/store/limits.ts): never more than six calls in flight, handed on
 * first come first served; a call that finds a free connection starts at once (the tap's claim
 * and KV read still leave together); a budget that refuses the call beyond it; shares of a budget
 * that spend from the whole and share its connections.
 */
import { describe, expect, it } from "vitest";
import { InvocationLimits, MAX_IN_FLIGHT, QueryBudgetSpent } from "../../src/store/limits";

/** A call that stays in flight until released, recording when it started. */
function heldCall(started: number[], index: number) {
  let release = () => {};
  const done = new Promise<number>((resolve) => {
    release = () => resolve(index);
  });
  return {
    release: () => release(),
    call: () => {
      started.push(index);
      return done;
    },
  };
}

describe("in flight", () => {
  it("never more than six at once, the rest started in order as connections free up", async () => {
    const limits = new InvocationLimits();
    const started: number[] = [];
    const calls = Array.from({ length: 32 }, (_, i) => heldCall(started, i));
    const results = calls.map((c) => limits.query(c.call));
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(limits.inFlight).toBe(MAX_IN_FLIGHT);
    for (const [i, c] of calls.entries()) {
      c.release();
      await results[i];
      expect(limits.inFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    }
    expect(await Promise.all(results)).toEqual(calls.map((_, i) => i));
    expect(started).toEqual(calls.map((_, i) => i));
    expect(limits.maxSeenInFlight).toBe(MAX_IN_FLIGHT);
    expect(limits.inFlight).toBe(0);
  });

  it("a call that finds a free connection starts in the same tick, failures free it too", async () => {
    const limits = new InvocationLimits();
    const started: number[] = [];
    const a = heldCall(started, 1);
    const b = heldCall(started, 2);
    const pending = [limits.query(a.call), limits.query(b.call)];
    expect(started).toEqual([1, 2]);
    a.release();
    b.release();
    await Promise.all(pending);
    await expect(limits.query(() => Promise.reject(new Error("D1 down")))).rejects.toThrow(
      "D1 down",
    );
    expect(limits.inFlight).toBe(0);
  });

  it("a new call never overtakes one waiting for a connection that just freed", async () => {
    const limits = new InvocationLimits(100, undefined, 1);
    const started: number[] = [];
    const first = heldCall(started, 1);
    const waiting = heldCall(started, 2);
    const late = heldCall(started, 3);
    const a = limits.query(first.call);
    const b = limits.query(waiting.call);
    first.release();
    await a;
    const c = limits.query(late.call);
    expect(limits.inFlight).toBe(1);
    waiting.release();
    late.release();
    await Promise.all([b, c]);
    expect(started).toEqual([1, 2, 3]);
    expect(limits.maxSeenInFlight).toBe(1);
  });
});

describe("budget", () => {
  it("refuses the call beyond it without sending it; connections do not spend it", async () => {
    const limits = new InvocationLimits(3);
    let sent = 0;
    const call = async () => ++sent;
    await limits.query(call);
    await limits.connection(call);
    await limits.query(call);
    await limits.query(call);
    expect(limits.remaining).toBe(0);
    await expect(limits.query(call)).rejects.toBeInstanceOf(QueryBudgetSpent);
    expect(sent).toBe(4);
  });

  it("a share spends from the whole, is capped at its own budget, and shares connections", async () => {
    const whole = new InvocationLimits(10);
    const reconcile = whole.share(6);
    const retention = whole.share(100);
    expect(retention.remaining).toBe(10);
    const call = async () => undefined;
    for (let i = 0; i < 6; i++) await reconcile.query(call);
    await expect(reconcile.query(call)).rejects.toBeInstanceOf(QueryBudgetSpent);
    expect(whole.remaining).toBe(4);
    expect(retention.remaining).toBe(4);
    const started: number[] = [];
    const held = Array.from({ length: 6 }, (_, i) => heldCall(started, i));
    const pending = held.map((h, i) => (i % 2 ? retention : whole).connection(h.call));
    const extra = heldCall(started, 6);
    const waiting = retention.connection(extra.call);
    expect(started).toHaveLength(6);
    expect(whole.inFlight).toBe(6);
    for (const h of [...held, extra]) h.release();
    await Promise.all([...pending, waiting]);
    expect(started).toHaveLength(7);
  });
});
