/**
 * Where a new invite lives, in plain Node: jump hashing only ever moves a key to a new shard when
 * the count grows, and transactions spread evenly with their earlier shards named once. (The
 * ledger over real shards: test/shards.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { jumpHash, placeTransaction } from "../../src/store/placement";

describe("placement", () => {
  it("jump hashing only ever moves a key to a new shard when the count grows", () => {
    const moved = new Map<number, number>();
    for (let k = 0n; k < 2000n; k++) {
      const key = k * 0x9e3779b97f4a7c15n;
      for (let n = 1; n < 16; n++) {
        const [before, after] = [jumpHash(key, n), jumpHash(key, n + 1)];
        expect(before).toBeLessThan(n);
        if (before !== after) {
          expect(after).toBe(n);
          moved.set(n, (moved.get(n) ?? 0) + 1);
        }
      }
    }
    // About 1/(n+1) of the keys move to the new shard: 2000/4 = 500 from 3 to 4 shards.
    expect(moved.get(3)).toBeGreaterThan(400);
    expect(moved.get(3)).toBeLessThan(600);
  });

  it("spreads transactions evenly and names each earlier shard once", async () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 400; i++) {
      const { shard, earlier } = await placeTransaction("demo", `txn-${i}`, 4, [1, 2]);
      counts[shard] = (counts[shard] ?? 0) + 1;
      expect(earlier).not.toContain(shard);
      expect(new Set(earlier).size).toBe(earlier.length);
    }
    for (const n of counts) expect(n).toBeGreaterThan(60);
  });

  it("answers its documented example (src/store/placement.ts), the same every time", async () => {
    const placed = await placeTransaction("venue-entry", "txn-2", 8, [4]);
    expect(placed).toEqual(await placeTransaction("venue-entry", "txn-2", 8, [4]));
    expect(placed).toEqual({ shard: 4, earlier: [2] });
  });
});
