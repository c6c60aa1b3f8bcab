/**
 * `npm run provision-shards`: the dry run prints the plan and touches nothing; a real run (with a
 * stand-in wrangler that records its arguments and answers `d1 create` as wrangler does) binds
 * every missing shard in wrangler.toml, migrates every shard, records the count it applied in the
 * shard-count history and sets LEDGER_SHARDS; a second run only migrates (and records again);
 * lowering the count is refused. `--local` applies every migration in migrations/ to every real
 * local shard. The written configuration is checked by `wrangler deploy --dry-run`.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT, shardBinding } from "./harness";

const SCRIPT = join(ROOT, "scripts/provision-shards.js");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const cleanup: string[] = [];

afterEach(() => {
  for (const p of cleanup.splice(0)) rmSync(p, { recursive: true, force: true });
});

/** A copy of wrangler.toml beside the real one (so `main` and migrations resolve). */
function configCopy(): string {
  const file = join(ROOT, `.provision-test-${process.pid}-${cleanup.length}.toml`);
  copyFileSync(join(ROOT, "wrangler.toml"), file);
  cleanup.push(file);
  return file;
}

/** A wrangler stand-in: logs each call's arguments, answers `d1 create` with a fresh id. */
function fakeWrangler(): { bin: string; calls: () => string[][] } {
  const dir = mkdtempSync(join(tmpdir(), "fake-wrangler-"));
  cleanup.push(dir);
  const log = join(dir, "calls.jsonl");
  const bin = join(dir, "wrangler");
  writeFileSync(
    bin,
    `#!/usr/bin/env node
const fs = require("node:fs");
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(args) + "\\n");
if (args[0] === "d1" && args[1] === "create") {
  const id = require("node:crypto").randomUUID();
  console.log("✅ Successfully created DB '" + args[2] + "'");
  console.log(JSON.stringify({ d1_databases: [{ binding: "DB", database_name: args[2], database_id: id }] }, null, 2));
}
`,
  );
  chmodSync(bin, 0o755);
  return {
    bin,
    calls: () =>
      readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string[]),
  };
}

function provision(args: string[], wranglerBin?: string) {
  const result = spawnSync("node", [SCRIPT, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...(wranglerBin ? { WRANGLER_BIN: wranglerBin } : {}) },
    encoding: "utf8",
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const d1Bindings = (toml: string) =>
  [...toml.matchAll(/\[\[env\.production\.d1_databases\]\]\s*\nbinding = "([^"]+)"/g)].map(
    (m) => m[1],
  );

describe("provision-shards", () => {
  it("--dry-run prints every create, migration and setting, and changes nothing", {
    tags: ["node-versions"],
  }, () => {
    const config = configCopy();
    const before = readFileSync(config, "utf8");
    const { status, output } = provision(["--shards", "4", "--dry-run", "--config", config]);
    expect(status).toBe(0);
    for (const name of ["invite-edge", "invite-edge-1", "invite-edge-2", "invite-edge-3"]) {
      expect(output).toContain(`$ wrangler d1 create ${name} --config`);
    }
    for (let shard = 0; shard < 4; shard++) {
      expect(output).toContain(
        `$ wrangler d1 migrations apply ${shardBinding(shard)} --env production --remote`,
      );
    }
    expect(output).toMatch(
      /\$ wrangler d1 execute DB --env production --remote --command INSERT INTO ledger_shard_counts \(shards, applied_at\) VALUES \(4, \d+\)/,
    );
    expect(output).toContain('LEDGER_SHARDS = "4"');
    expect(output).not.toContain("LEDGER_SHARDS_PREVIOUS");
    expect(output).toContain("Dry run: nothing was created, applied or written.");
    expect(readFileSync(config, "utf8")).toBe(before);
  });

  it("binds and migrates every shard, then only migrates; never lowers the count", () => {
    const config = configCopy();
    const wrangler = fakeWrangler();
    const first = provision(["--shards", "3", "--config", config], wrangler.bin);
    expect(first.status, first.output).toBe(0);
    const toml = readFileSync(config, "utf8");
    expect(d1Bindings(toml)).toEqual(["DB", "DB_1", "DB_2"]);
    expect(toml).not.toContain("REPLACE_WITH_D1_DATABASE_ID");
    expect(toml).toMatch(/^LEDGER_SHARDS = "3"$/m);
    expect(toml).not.toContain("LEDGER_SHARDS_PREVIOUS");
    const calls = wrangler.calls();
    expect(calls.filter((c) => c[1] === "create").map((c) => c[2])).toEqual([
      "invite-edge",
      "invite-edge-1",
      "invite-edge-2",
    ]);
    expect(calls.filter((c) => c[1] === "migrations").map((c) => c[3])).toEqual([
      "DB",
      "DB_1",
      "DB_2",
    ]);
    const recorded = calls.filter((c) => c[1] === "execute");
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.slice(2, 6)).toEqual(["DB", "--env", "production", "--remote"]);
    expect(recorded[0]?.[7]).toMatch(
      /^INSERT INTO ledger_shard_counts \(shards, applied_at\) VALUES \(3, \d+\)/,
    );

    // The written configuration is one wrangler accepts, with every shard bound.
    const outdir = mkdtempSync(join(tmpdir(), "provision-dry-deploy-"));
    cleanup.push(outdir);
    const deploy = spawnSync(
      WRANGLER,
      ["deploy", "--dry-run", "--env", "production", "--config", config, "--outdir", outdir],
      {
        cwd: ROOT,
        env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
        encoding: "utf8",
      },
    );
    expect(deploy.status, deploy.stderr).toBe(0);
    for (const binding of ["env.DB ", "env.DB_1 ", "env.DB_2 "])
      expect(deploy.stdout).toContain(binding);

    const again = provision(["--shards", "3", "--config", config], wrangler.bin);
    expect(again.status, again.output).toBe(0);
    expect(wrangler.calls().filter((c) => c[1] === "create")).toHaveLength(3);
    expect(d1Bindings(readFileSync(config, "utf8"))).toEqual(["DB", "DB_1", "DB_2"]);

    const lower = provision(["--shards", "2", "--config", config], wrangler.bin);
    expect(lower.status).toBe(1);
    expect(lower.output).toContain("lower than LEDGER_SHARDS 3");
  });

  it("--local applies every migration in migrations/ to every local shard, as wrangler records them", () => {
    const persist = mkdtempSync(join(tmpdir(), "provision-local-"));
    cleanup.push(persist);
    const { status, output } = provision(["--shards", "2", "--local", "--persist-to", persist]);
    expect(status, output).toBe(0);
    expect(output).toMatch(/^DB_1: \d+ migration\(s\) applied$/m);
    // Read from the directory, not counted by hand: other changes add migrations.
    const migrations = readdirSync(join(ROOT, "migrations"))
      .filter((name) => name.endsWith(".sql"))
      .sort();
    expect(migrations.length).toBeGreaterThan(0);
    const local = ["--local", "--persist-to", persist];
    const wranglerRun = (args: string[]) =>
      spawnSync(WRANGLER, args, {
        cwd: ROOT,
        env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
        encoding: "utf8",
      });
    const applied = wranglerRun([
      "d1",
      "execute",
      shardBinding(0),
      ...local,
      "--json",
      "--command",
      "SELECT name FROM d1_migrations ORDER BY id",
    ]);
    expect(applied.status, applied.stderr).toBe(0);
    const [result] = JSON.parse(applied.stdout) as { results: { name: string }[] }[];
    expect(result?.results.map((r) => r.name)).toEqual(migrations);
    // Wrangler's own command reads the same table: nothing left to apply on the other shard.
    const again = wranglerRun(["d1", "migrations", "apply", shardBinding(1), ...local]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain("No migrations to apply");
  });
});
