/**
 * The operators' command-line tools: every one refuses a flag it does not know (exit 2, with its
 * usage) and answers `--help`; `check-config` passes the repository's configurations and lists
 * every problem of a broken one at once, reporting secrets it was not given as not checked.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "./harness";

const scratch = mkdtempSync(join(tmpdir(), "operator-tools-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(script: string, args: string[]) {
  const result = spawnSync(process.execPath, [join(ROOT, "scripts", script), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.each([
  ["provision-shards.js", ["--shards", "2", "--dryrun"]],
  ["api-key.js", ["--id", "x", "--scope", "admin"]],
  ["check-config.js", ["--environment", "production"]],
  ["demo-reconcile.js", ["--fast"]],
  ["fake-qualtrics.js", ["--prot", "9000"]],
])("%s", (script, misspelt) => {
  it("refuses a flag it does not know, with its usage, and runs nothing", () => {
    const { status, stdout, stderr } = run(script, misspelt);
    expect(status).toBe(2);
    expect(stderr).toMatch(/Unknown option/);
    expect(stderr).toMatch(/^usage: /m);
    expect(stdout).toBe("");
  });

  it("answers --help with its usage", () => {
    const { status, stdout } = run(script, ["--help"]);
    expect(status).toBe(0);
    expect(stdout).toMatch(/^usage: /);
    expect(stdout).toMatch(/--help/);
  });
});

describe("npm run check-config", () => {
  it("passes the development configuration and production's vars, with production's secrets not checked", () => {
    const dev = run("check-config.js", []);
    expect(dev.status).toBe(0);
    expect(dev.stdout).toContain("No problems.");
    const production = run("check-config.js", ["--env", "production"]);
    expect(production.status).toBe(0);
    expect(production.stdout).toMatch(
      /not checked \(secrets not given\): API_KEYS, SIGNING_KEYS, COOKIE_SECRET, WEBSERVICE_SECRET/,
    );
  });

  it("lists every problem of a broken configuration at once, and checks the secrets it is given", () => {
    const config = join(scratch, "broken.toml");
    writeFileSync(
      config,
      [
        'name = "broken"',
        `main = "${join(ROOT, "src/index.ts")}"`,
        'compatibility_date = "2026-05-01"',
        "[[d1_databases]]",
        'binding = "DB"',
        'database_name = "x"',
        'database_id = "x"',
        "[vars]",
        'LEDGER_SHARDS = "2"',
        'ENVIRONMENT = "production"',
        "[vars.SURVEYS.entry]",
        'url = "http://surveys.example.com/jfe/form/SV_1"',
        'mode = "bogus"',
      ].join("\n"),
    );
    const secrets = join(scratch, "secrets.env");
    writeFileSync(secrets, 'COOKIE_SECRET="too-short"\nAPI_KEYS=[{"id":"ops"}]\n');
    const { status, stderr } = run("check-config.js", ["--config", config, "--secrets", secrets]);
    expect(status).toBe(1);
    const problems = stderr.split("\n").filter((line) => line.startsWith("  problem: "));
    // The bad mode does not hide the same survey's bad URL; every variable is named.
    expect(problems.map((p) => p.replace(/^ {2}problem: /, "").replace(/:.*$| .*$/, ""))).toEqual(
      expect.arrayContaining([
        "COOKIE_SECRET",
        "SURVEYS.entry.mode",
        "SURVEYS.entry.url",
        "API_KEYS.0.sha256",
        "PUBLIC_BASE_URL",
        "LEDGER_SHARDS",
      ]),
    );
    expect(stderr).toMatch(
      /not checked \(secrets not given\): SIGNING_KEYS, WEBSERVICE_SECRET, CUSTOMER_HASH_KEY\n/,
    );
    expect(stderr).toMatch(new RegExp(`${problems.length} problem\\(s\\)\\.`));
  });
});
