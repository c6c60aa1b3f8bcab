/**
 * `/healthz` answers 200 only when the configuration parses and the ledger's schema is in place
 * (the latest migration applied) in every shard, and otherwise 503 naming nothing secret.
 * BLANK_DB is emptied before each test, so no test depends on what another did to it.
 */
import { applyD1Migrations, env } from "cloudflare:test";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { LATEST_MIGRATION, ledgerSchemaState } from "../src/store/schema-check";
import { ORIGIN } from "./helpers/api";
import { callWorker } from "./security/helpers";

const health = (overrides: Parameters<typeof callWorker>[1] = {}) =>
  callWorker(new Request(`${ORIGIN}/healthz`), overrides);

/**
 * Drops every view and table of BLANK_DB (their indexes and triggers go with them): no migration
 * applied.
 */
async function emptyBlankDb(): Promise<void> {
  const { results } = await env.BLANK_DB.prepare(
    `SELECT type, name FROM sqlite_master WHERE type IN ('view', 'table')
       AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'
     ORDER BY type = 'table'`,
  ).all<{ type: "view" | "table"; name: string }>();
  for (const { type, name } of results) {
    await env.BLANK_DB.prepare(`DROP ${type.toUpperCase()} "${name}"`).run();
  }
}

beforeEach(emptyBlankDb);

describe("GET /healthz", () => {
  it("is 200 with a valid configuration and a migrated ledger", async () => {
    const res = await health();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ok: true,
      config: "ok",
      ledger: "ready",
      brand: "none",
      webhooks: "none",
    });
  });

  it("says whether the pages carry BRAND; a bad one is listed and logged, and is no outage", async () => {
    const good = await health({ BRAND: '{"name": "Acme"}' });
    expect(await good.json()).toMatchObject({ ok: true, brand: "ok" });
    const log = vi.spyOn(console, "log");
    const bad = await health({ BRAND: '{"name": "Acme", "color": "red; x: url(//evil)"}' });
    expect(bad.status).toBe(200);
    expect(await bad.json()).toEqual({
      ok: true,
      config: "ok",
      ledger: "ready",
      brand: "invalid",
      brandProblems: ["BRAND.color: must be a hex colour such as #1f5fbf or #15b"],
      webhooks: "none",
    });
    const lines = log.mock.calls.map((call) => String(call[0]));
    expect(lines.find((line) => line.includes('"event":"brand_invalid"'))).toContain("BRAND.color");
    log.mockRestore();
  });

  it("is 503 while the configuration is broken, naming no variable or value", async () => {
    const res = await health({ COOKIE_SECRET: "short", WEBSERVICE_SECRET: "" });
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ ok: false, config: "invalid", ledger: "ready" });
    expect(text).not.toMatch(/COOKIE_SECRET|WEBSERVICE_SECRET|short/);
  });

  it("is 503 until every migration is applied to the ledger, then 200", async () => {
    const blank = { DB: env.BLANK_DB };
    expect(await ledgerSchemaState(env.BLANK_DB)).toBe("not_migrated");
    const none = await health(blank);
    expect(none.status).toBe(503);
    expect(await none.json()).toMatchObject({ ok: false, config: "ok", ledger: "not_migrated" });

    await applyD1Migrations(env.BLANK_DB, env.TEST_MIGRATIONS.slice(0, -1));
    expect((await health(blank)).status).toBe(503);
    await applyD1Migrations(env.BLANK_DB, env.TEST_MIGRATIONS);
    const all = await health(blank);
    expect(all.status).toBe(200);
  });

  it("is 503 while any shard but the first is not migrated, and 200 once it is", async () => {
    // Two shards, the second one blank: shard 0 alone would say "ready".
    const second = { LEDGER_SHARDS: "2", DB_1: env.BLANK_DB };
    const res = await health(second);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ok: false,
      config: "ok",
      ledger: "not_migrated",
      brand: "none",
      webhooks: "none",
    });

    await applyD1Migrations(env.BLANK_DB, env.TEST_MIGRATIONS);
    expect((await health(second)).status).toBe(200);
  });

  it("knows the newest migration in migrations/", () => {
    expect(env.TEST_MIGRATIONS.at(-1)?.name).toBe(LATEST_MIGRATION);
  });
});
