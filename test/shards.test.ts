/**
 * The ledger over N shards (this project's LEDGER_SHARDS, see vitest.config.ts): links name
 * their shard, single use and idempotent issue hold inside a shard under concurrency, and one
 * shard's overload is a 503 that consumes nothing while the other shards serve. Raising the
 * shard count is test/shard-counts.test.ts.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { inviteIdShard, shardPrefix } from "../src/tokens/ids";
import { apiRequest, fetchWorker, type IssuedLink, linkRequest, randomIp } from "./helpers/api";
import { allShards, fromEveryShard, ledgerOf, SHARDS, wrapShards } from "./helpers/ledger";
import { tapRequest } from "./security/helpers";

async function issueVia(workerEnv: typeof env, body: Record<string, unknown>) {
  const res = await fetchWorker(apiRequest("/v1/links", { method: "POST", json: body }), workerEnv);
  return { status: res.status, link: (await res.json()) as IssuedLink };
}

describe("placement (the hashing itself: test/unit/placement.test.ts)", () => {
  it("a link's id names the shard that holds its row, and only that shard", async () => {
    const links = await Promise.all(
      Array.from({ length: 48 }, () => issueVia(env, linkRequest()).then((r) => r.link)),
    );
    const used = new Set(links.map((l) => inviteIdShard(l.id)));
    expect(used.size).toBe(SHARDS);
    for (const link of links) {
      expect(link.id).toMatch(/^[A-Za-z0-9_-]{24}$/);
      const holders = await Promise.all(
        allShards().map((db) =>
          db.prepare("SELECT id FROM invites WHERE id = ?").bind(link.id).first(),
        ),
      );
      expect(holders.map((row) => row !== null)).toEqual(
        allShards().map((_, i) => i === inviteIdShard(link.id)),
      );
    }
  });

  it("an id naming a shard beyond the configured count is a 404 page", async () => {
    const res = await fetchWorker(
      tapRequest(`${shardPrefix(SHARDS + 3)}${"A".repeat(22)}`, { ip: randomIp() }),
    );
    expect(res.status).toBe(404);
    expect(res.headers.get("Content-Type")).toContain("text/html");
  });
});

describe(`concurrency on ${SHARDS} shard(s)`, () => {
  it("50 concurrent taps on each of 20 links open each link exactly once", async () => {
    const links = await Promise.all(
      Array.from({ length: 20 }, () => issueVia(env, linkRequest()).then((r) => r.link)),
    );
    const taps = await Promise.all(
      links.flatMap((link) =>
        Array.from({ length: 50 }, () => fetchWorker(tapRequest(link.id, { ip: randomIp() }))),
      ),
    );
    expect(taps.filter((r) => r.status === 302)).toHaveLength(20);
    expect(taps.filter((r) => r.status === 410)).toHaveLength(980);
    const opened = await fromEveryShard<{ n: number }>(
      `SELECT COUNT(*) AS n FROM click_events
       WHERE outcome = 'opened' AND invite_id IN (SELECT value FROM json_each(?))`,
      JSON.stringify(links.map((l) => l.id)),
    );
    expect(opened.reduce((sum, r) => sum + r.n, 0)).toBe(20);
  }, 120_000); // a thousand taps at once: most of a minute on a busy 2-core machine

  it("20 concurrent identical issue calls: one 201 and nineteen 200 with the same link", async () => {
    const body = linkRequest();
    const answers = await Promise.all(Array.from({ length: 20 }, () => issueVia(env, body)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
    expect(new Set(answers.map((a) => a.link.id)).size).toBe(1);
  });

  it("concurrent batches sharing transaction ids get one link per transaction", async () => {
    const shared = Array.from({ length: 30 }, () => linkRequest());
    const batches = await Promise.all(
      Array.from({ length: 6 }, (_, b) => {
        // Each batch: the shared items (in its own order) plus one of its own, and a duplicate.
        const items = [...shared].sort(() => (b % 2 === 0 ? 1 : -1));
        items.push(linkRequest(), items[0] as ReturnType<typeof linkRequest>);
        return fetchWorker(
          apiRequest("/v1/links/batch", { method: "POST", json: { links: items } }),
        )
          .then(
            (res) => res.json() as Promise<{ results: { status: number; link?: IssuedLink }[] }>,
          )
          .then((body) => ({ items, results: body.results }));
      }),
    );
    const idsByTxn = new Map<string, Set<string>>();
    for (const { items, results } of batches) {
      results.forEach((result, i) => {
        expect([200, 201]).toContain(result.status);
        const txn = String(items[i]?.transactionId);
        const ids = idsByTxn.get(txn) ?? new Set<string>();
        ids.add(result.link?.id ?? "");
        idsByTxn.set(txn, ids);
      });
    }
    for (const ids of idsByTxn.values()) expect(ids.size).toBe(1);
    const rows = await fromEveryShard<{ n: number }>(
      "SELECT COUNT(*) AS n FROM invites WHERE transaction_id IN (SELECT value FROM json_each(?))",
      JSON.stringify([...idsByTxn.keys()]),
    );
    expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(idsByTxn.size);
  });
});

describe("one shard overloaded", () => {
  it("taps on its links get the 503 page and consume nothing; other shards serve", async () => {
    const links = await Promise.all(
      Array.from({ length: 12 }, () => issueVia(env, linkRequest()).then((r) => r.link)),
    );
    const busy = inviteIdShard(links[0]?.id ?? "");
    const overloaded = wrapShards((db, shard) =>
      shard !== busy
        ? db
        : new Proxy(db, {
            get(target, property, receiver) {
              if (property === "batch" || property === "prepare") {
                return () => {
                  throw new Error("D1_ERROR: D1 DB is overloaded. Too many requests queued.");
                };
              }
              const value = Reflect.get(target, property, receiver);
              return typeof value === "function" ? value.bind(target) : value;
            },
          }),
    );
    const overloadedEnv = { ...env, ...overloaded };
    for (const link of links) {
      const res = await fetchWorker(tapRequest(link.id, { ip: randomIp() }), overloadedEnv);
      if (inviteIdShard(link.id) === busy) {
        expect(res.status).toBe(503);
        expect(res.headers.get("Retry-After")).toBe("5");
        const row = await ledgerOf(link.id)
          .prepare("SELECT consumed_at FROM invites WHERE id = ?")
          .bind(link.id)
          .first<{ consumed_at: number | null }>();
        expect(row?.consumed_at).toBeNull();
      } else {
        expect(res.status).toBe(302);
      }
    }
  });
});
