/**
 * `npm start` (scripts/start.js), as an adopter runs it: the local ledger shards of
 * `--var LEDGER_SHARDS:n` migrated, then `wrangler dev`, ready when `/healthz` answers 200 (which
 * checks every shard); stopping it stops everything it started. Run again on Node 22 and 24 in CI.
 */
import { describe, expect, it } from "vitest";
import { startDevServer } from "./harness";

describe("npm start", () => {
  it("serves with every shard migrated, and stopping it stops all it started", {
    tags: ["node-versions"],
  }, async () => {
    const server = await startDevServer({ LEDGER_SHARDS: "2" });
    let stopped: { forced: boolean } | undefined;
    try {
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({
        ok: true,
        config: "ok",
        ledger: "ready",
        brand: "none",
        webhooks: "none",
      });
      const home = await fetch(`${server.url}/`);
      expect(home.status).toBe(200);
    } finally {
      stopped = await server.stop();
    }
    // SIGTERM (as Ctrl-C) stopped start.js, wrangler and workerd: nothing had to be killed.
    expect(stopped).toEqual({ forced: false });
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
