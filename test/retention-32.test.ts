/**
 * The retention purge at 32 shards (the wide project, vitest.config.ts): one scheduled run
 * reaches every shard, and a run cut short by its step limit hands over to the next run where it
 * stopped, so no shard waits behind the others. Rows are written straight into each shard.
 */
import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { purgeExpiredPersonalData } from "../src/retention/purge";
import { allShards, SHARDS } from "./helpers/ledger";

const DAY = 86_400_000;

/** Writes `rows` invites into every shard, issued `days` ago, each expiring `ttlDays` later. */
async function seedEveryShard(tag: string, rows: number, days: number, ttlDays: number) {
  const issuedAt = Date.now() - days * DAY;
  await Promise.all(
    allShards().map((db, shard) => {
      const insert = db.prepare(
        `INSERT INTO invites (id, survey, transaction_id, customer_ref, trigger, embedded_data,
           request_hash, issued_at, expires_at)
         VALUES (?1, 'demo', ?1, 'customer-of-32', 'retention-32', '{}', 'h', ?2, ?3)`,
      );
      return db.batch(
        Array.from({ length: rows }, (_, i) =>
          insert.bind(`${tag}-${shard}-${i}`, issuedAt, issuedAt + ttlDays * DAY),
        ),
      );
    }),
  );
}

/** Per shard, how many of the rows tagged `tag` are left, and how many still hold personal data. */
async function leftPerShard(tag: string) {
  return Promise.all(
    allShards().map(async (db) => {
      const row = await db
        .prepare(
          `SELECT COUNT(*) AS left, COUNT(customer_ref) AS personal FROM invites
           WHERE id LIKE ?1 || '-%'`,
        )
        .bind(tag)
        .first<{ left: number; personal: number }>();
      return row ?? { left: 0, personal: 0 };
    }),
  );
}

describe("retention on 32 shards", () => {
  it("one scheduled run removes or clears every due invite on every shard", async () => {
    expect(SHARDS).toBe(32);
    const tag = `due-${crypto.randomUUID()}`;
    await seedEveryShard(`${tag}-gone`, 3, 100, 7); // expired: they leave
    await seedEveryShard(`${tag}-live`, 1, 100, 120); // still live: their data is cleared

    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *" }), env);

    expect(await leftPerShard(`${tag}-gone`)).toEqual(
      allShards().map(() => ({ left: 0, personal: 0 })),
    );
    expect(await leftPerShard(`${tag}-live`)).toEqual(
      allShards().map(() => ({ left: 1, personal: 0 })),
    );
  });

  it("a run stopped by its step limit hands over: the next run starts at the shard where it stopped", async () => {
    const tag = `turn-${crypto.randomUUID()}`;
    await seedEveryShard(tag, 1, 100, 7);
    const served = async () => (await leftPerShard(tag)).filter((s) => s.left === 0).length;

    // 32 steps: 16 visits (a delete, then a clearing), so half of the shards per run.
    const first = await purgeExpiredPersonalData(env, { maxBatches: 32 });
    expect(first).toMatchObject({ done: false, removed: 16 });
    expect(await served()).toBe(16);
    const second = await purgeExpiredPersonalData(env, { maxBatches: 32 });
    expect(second).toMatchObject({ removed: 16 });
    expect(await served()).toBe(32);
  });
});
