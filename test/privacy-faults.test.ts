/**
 * Erasure under faults and at volume: a shard failing midway, a request dying after the ledger
 * was erased but before the erasure was closed, a customer with more invites than one request
 * erases, and two requests at once. Each time the same request again finishes the job, nothing
 * is left half-erased in between, and the erasure's record counts every invite once.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { inviteIdShard } from "../src/tokens/ids";
import { type IssuedLink, issue, tap, uniqueTxn } from "./helpers/api";
import { clearShardCounts, fromEveryShard, ledgerOf, SHARDS, wrapShards } from "./helpers/ledger";
import {
  type ErasureBody,
  type ErasureResultBody,
  erase,
  erasures,
  everythingStored,
  foundIn,
  privacyCall,
} from "./helpers/privacy";
import { seedInvites } from "./helpers/reconcile";

interface Customer {
  id: string;
  values: string[];
  links: IssuedLink[];
}

/** A customer with `count` invites, on at least two shards when there are several; some opened. */
async function customerWithInvites(name: string, count: number): Promise<Customer> {
  const customer: Customer = { id: `${name}-${crypto.randomUUID()}`, values: [], links: [] };
  customer.values.push(customer.id);
  const shards = () => new Set(customer.links.map((l) => inviteIdShard(l.id))).size;
  while (customer.links.length < count || shards() < Math.min(SHARDS, 2)) {
    if (customer.links.length > 40) throw new Error("invites did not reach two shards");
    const transactionId = uniqueTxn(`${name}-txn`);
    const venue = `venue-${crypto.randomUUID()}`;
    customer.values.push(transactionId, venue);
    customer.links.push(
      await issue({ customerId: customer.id, transactionId, embeddedData: { venue } }),
    );
  }
  for (const link of customer.links.slice(0, 2)) expect((await tap(link.id)).status).toBe(302);
  return customer;
}

type InviteState = { id: string; customer_ref: string | null; erased_at: number | null };

async function states(customer: Customer): Promise<InviteState[]> {
  return fromEveryShard<InviteState>(
    "SELECT id, customer_ref, erased_at FROM invites WHERE id IN (SELECT value FROM json_each(?))",
    JSON.stringify(customer.links.map((l) => l.id)),
  );
}

/** Every invite is either untouched (findable again) or fully erased (row and KV): never between. */
async function nothingHalfErased(customer: Customer): Promise<{ erased: number; intact: number }> {
  let erased = 0;
  let intact = 0;
  for (const row of await states(customer)) {
    if (row.erased_at === null) {
      expect(row.customer_ref).toBe(customer.id);
      intact += 1;
    } else {
      expect(row.customer_ref).toBeNull();
      expect(await env.LINKS.get(row.id)).toBeNull();
      erased += 1;
    }
  }
  expect(erased + intact).toBe(customer.links.length);
  return { erased, intact };
}

async function erasureRow(id: string) {
  return env.DB.prepare("SELECT * FROM privacy_erasures WHERE id = ?")
    .bind(id)
    .first<Record<string, unknown>>();
}

async function runningErasure(): Promise<ErasureBody> {
  const running = (await erasures()).filter((e) => e.status === "running");
  expect(running).toHaveLength(1);
  return running[0] as ErasureBody;
}

/** A D1 binding whose `batch` (each shard's erase transaction) fails. */
function failingBatches(db: D1Database): D1Database {
  return new Proxy(db, {
    get: (target, property) =>
      property === "batch"
        ? () => Promise.reject(new Error("D1_ERROR: simulated shard outage"))
        : Reflect.get(target, property).bind(target),
  });
}

/**
 * A D1 binding whose `batch` fails when its first statement was prepared from SQL containing
 * `marker` (statements do not show their SQL, so `prepare` notes it on each bound statement).
 */
function failingBatchOf(db: D1Database, marker: string): D1Database {
  const sqlOf = new WeakMap<D1PreparedStatement, string>();
  const noted = (statement: D1PreparedStatement, sql: string): D1PreparedStatement =>
    new Proxy(statement, {
      get: (target, property) => {
        if (property !== "bind") return Reflect.get(target, property).bind(target);
        return (...values: unknown[]) => {
          const bound = target.bind(...values);
          sqlOf.set(bound, sql);
          return bound;
        };
      },
    });
  return new Proxy(db, {
    get: (target, property) => {
      if (property === "prepare") return (sql: string) => noted(target.prepare(sql), sql);
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) =>
          statements[0] && sqlOf.get(statements[0])?.includes(marker)
            ? Promise.reject(new Error("D1_ERROR: connection lost"))
            : target.batch(statements);
      }
      return Reflect.get(target, property).bind(target);
    },
  });
}

describe("an erasure interrupted, then the same request again", () => {
  it("a shard failing midway: 503, nothing half-erased, and the retry finishes the same erasure", async () => {
    const customer = await customerWithInvites("shard-fault", 6);
    const failing = inviteIdShard(customer.links[0]?.id ?? "");
    const faulty = {
      ...env,
      ...wrapShards((db, shard) => (shard === failing ? failingBatches(db) : db)),
    };

    const first = await erase(customer.id, faulty);
    expect(first.status).toBe(503);
    const error = await first.text();
    expect(error).toContain("send the same request again");
    expect(foundIn(error, customer.values)).toEqual([]);
    const between = await nothingHalfErased(customer);
    // The failing shard's invites are intact; with several shards the others were erased.
    expect(between.intact).toBeGreaterThan(0);
    if (SHARDS > 1) expect(between.erased).toBeGreaterThan(0);
    const running = await runningErasure();
    expect(running).toMatchObject({ apiKeyId: "dev-admin", attempts: 1 });
    expect(await erasureRow(running.id)).toMatchObject({ subject: expect.any(String) });

    const retry = await erase(customer.id);
    expect(retry.status).toBe(200);
    const result: ErasureResultBody = await retry.json();
    expect(result).toMatchObject({
      erasureId: running.id,
      done: true,
      erased: customer.links.length,
      pushed: 0,
    });
    expect(await nothingHalfErased(customer)).toEqual({
      erased: customer.links.length,
      intact: 0,
    });
    expect(foundIn(await everythingStored(), customer.values)).toEqual([]);
    expect(await erasureRow(running.id)).toMatchObject({
      status: "done",
      attempts: 2,
      erased: customer.links.length,
      subject: null,
      invites: null,
    });
  });

  it("the request dies before closing the erasure: the retry closes it and still reports every invite", async () => {
    const customer = await customerWithInvites("late-fault", 5);
    // Two were pushed to Qualtrics (the push state lives on the row; no counted column changes).
    const pushed = customer.links.slice(1, 3).map((l) => l.id);
    for (const id of pushed) {
      await ledgerOf(id)
        .prepare("UPDATE invites SET pushed_at = ?, push_ref = 'imp_test' WHERE id = ?")
        .bind(Date.now(), id)
        .run();
    }
    // The control database fails the statement batch that closes the erasure.
    const closing = wrapShards((db, shard) =>
      shard === 0 ? failingBatchOf(db, "SELECT invites FROM privacy_erasures") : db,
    );
    const first = await erase(customer.id, { ...env, ...closing });
    expect(first.status).toBe(503);
    // Everything is erased in the ledger already; only the record of the erasure is open.
    expect(await nothingHalfErased(customer)).toEqual({ erased: customer.links.length, intact: 0 });
    const running = await runningErasure();
    expect(running).toMatchObject({ erased: customer.links.length, pushed: 2 });

    const retry = await erase(customer.id);
    expect(retry.status).toBe(200);
    const result: ErasureResultBody = await retry.json();
    expect(result).toMatchObject({
      erasureId: running.id,
      done: true,
      erased: customer.links.length,
      pushed: 2,
      pushedInvites: [...pushed].sort(),
    });

    const again = await erase(customer.id);
    expect(await again.json()).toMatchObject({ done: true, erased: 0, pushed: 0 });
  });

  it("the request dies right after a shard's erase, before recording it: the retry still counts it", async () => {
    const customer = await customerWithInvites("unrecorded", 4);
    const pushed = customer.links[0]?.id ?? "";
    await ledgerOf(pushed)
      .prepare("UPDATE invites SET pushed_at = ?, push_ref = 'imp_test' WHERE id = ?")
      .bind(Date.now(), pushed)
      .run();
    // The control database refuses to record invites it was already told about: the record
    // made after each shard's erase transaction (the one before it goes through).
    const seen = new Set<string>();
    const control = (db: D1Database) =>
      new Proxy(db, {
        get: (target, property) =>
          property === "prepare"
            ? (sql: string) => {
                const statement = target.prepare(sql);
                if (!sql.includes("json_patch")) return statement;
                return {
                  bind: (...args: unknown[]) => {
                    const ids = Object.keys(JSON.parse(String(args[1])) as object);
                    const again = ids.every((id) => seen.has(id));
                    for (const id of ids) seen.add(id);
                    if (!again) return statement.bind(...args);
                    return { run: () => Promise.reject(new Error("D1_ERROR: connection lost")) };
                  },
                };
              }
            : Reflect.get(target, property).bind(target),
      });
    const first = await erase(customer.id, {
      ...env,
      ...wrapShards((db, shard) => (shard === 0 ? control(db) : db)),
    });
    expect(first.status).toBe(503);
    expect(await nothingHalfErased(customer)).toEqual({ erased: customer.links.length, intact: 0 });

    const retry = await erase(customer.id);
    expect(await retry.json()).toMatchObject({
      done: true,
      erased: customer.links.length,
      pushed: 1,
      pushedInvites: [pushed],
    });
  });
});

describe("a shard that cannot be read", () => {
  /** A binding every call of which fails as an unreachable database does. */
  const unreachable = (db: D1Database): D1Database =>
    new Proxy(db, {
      get: (target, property) =>
        property === "prepare" || property === "batch"
          ? () => {
              throw new Error("D1_ERROR: Network connection lost.");
            }
          : Reflect.get(target, property).bind(target),
    });

  it("down: the lookup lists nothing and the erasure answers not done; back up, it finishes", async () => {
    const customer = await customerWithInvites("unreachable", 4);
    const down = SHARDS - 1;
    const outage = {
      ...env,
      ...wrapShards((db, shard) => (shard === down ? unreachable(db) : db)),
    };
    const lookup = await privacyCall(
      "/v1/privacy/lookup",
      { method: "POST", json: { customerId: customer.id } },
      outage,
    );
    expect(lookup.status).toBe(503);
    expect(foundIn(await lookup.text(), customer.values)).toEqual([]);
    const erasure = await erase(customer.id, outage);
    expect(erasure.status).toBe(503);
    expect(await erasure.text()).not.toContain('"done":true');
    const between = await nothingHalfErased(customer);
    expect(between.intact).toBeGreaterThan(0);

    const retry = await erase(customer.id);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ done: true, erased: customer.links.length });
  });

  it("left out by a LEDGER_SHARDS below the count served: nothing listed, nothing done", async () => {
    const customer = await customerWithInvites("left-out", 3);
    // Two isolates whose cached history is fresh (so their requests pass the shard-count check)
    // when provision-shards and a deploy elsewhere make one more shard served than they reach.
    const isolate = () => ({ ...env, ...wrapShards((db) => new Proxy(db, {})) });
    const [forLookup, forErasure] = [isolate(), isolate()];
    const lookup = (workerEnv: typeof env) =>
      privacyCall(
        "/v1/privacy/lookup",
        { method: "POST", json: { customerId: customer.id } },
        workerEnv,
      );
    for (const warm of [forLookup, forErasure]) expect((await lookup(warm)).status).toBe(200);
    await env.DB.prepare(
      "INSERT INTO ledger_shard_counts (shards, first_seen, last_seen) VALUES (?1, ?2, ?2)",
    )
      .bind(SHARDS + 1, Date.now())
      .run();
    try {
      const listed = await lookup(forLookup);
      expect(listed.status).toBe(503);
      expect(await listed.json()).toMatchObject({
        error: {
          code: "unavailable",
          details: [{ path: "(ledger)", message: `shard ${SHARDS} cannot be read` }],
        },
      });
      const erasure = await erase(customer.id, forErasure);
      expect(erasure.status).toBe(503);
      expect(await erasure.text()).toContain(`shard ${SHARDS} cannot be read`);
      expect((await nothingHalfErased(customer)).erased).toBe(0);
    } finally {
      await clearShardCounts();
    }
    expect((await erase(customer.id, isolate())).status).toBe(200);
  });
});

describe("limits and concurrency", () => {
  it("a customer with more invites than one request erases: 202, then 200 for the rest", async () => {
    const customerId = `bulk-${crypto.randomUUID()}`;
    await seedInvites(450, { customer: customerId, prefix: `b${Date.now() % 100000}` });
    const first = await erase(customerId);
    expect(first.status).toBe(202);
    const partial: ErasureResultBody = await first.json();
    expect(partial.done).toBe(false);
    expect(partial.erased).toBeGreaterThanOrEqual(400);
    expect(partial.erased).toBeLessThan(450);

    const second = await erase(customerId);
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({
      erasureId: partial.erasureId,
      done: true,
      erased: 450,
    });
    const left = await fromEveryShard<{ n: number }>(
      "SELECT COUNT(*) AS n FROM invites WHERE customer_ref = ?",
      customerId,
    );
    expect(left.reduce((sum, r) => sum + r.n, 0)).toBe(0);
  });

  it("two requests for the same customer at once both succeed and erase everything", async () => {
    const customer = await customerWithInvites("twice", 6);
    const [a, b] = await Promise.all([erase(customer.id), erase(customer.id)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await nothingHalfErased(customer)).toEqual({ erased: customer.links.length, intact: 0 });
    expect(foundIn(await everythingStored(), customer.values)).toEqual([]);
    // No erasure is left running with the customer's subject.
    const { results } = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM privacy_erasures WHERE subject IS NOT NULL",
    ).all<{ n: number }>();
    expect(results[0]?.n).toBe(0);
  });
});
