/**
 * `npm run api-key`: a new random key goes to the terminal (stderr) once, its `API_KEYS` entry to
 * stdout, nothing to a file; and the service, given that entry, accepts the key with exactly its
 * scopes.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scopes } from "../../src/config/config";
import { type DevServer, ROOT, startDevServer } from "./harness";

const SCRIPT = join(ROOT, "scripts/api-key.js");

interface Entry {
  id: string;
  sha256: string;
  scopes: string[];
}

/** Runs the helper in an empty directory and returns what it printed and left there. */
function run(...args: string[]) {
  const cwd = mkdtempSync(join(tmpdir(), "invite-edge-api-key-"));
  try {
    const result = spawnSync(process.execPath, [SCRIPT, ...args], { cwd, encoding: "utf8" });
    return { ...result, filesLeft: readdirSync(cwd) };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

function generate(id: string, scopeList: string) {
  const result = run("--id", id, "--scopes", scopeList);
  expect(result.status, result.stderr).toBe(0);
  const key = /\bie_[A-Za-z0-9_-]{43}\b/.exec(result.stderr)?.[0] ?? "";
  const entry = JSON.parse(result.stdout) as Entry;
  return { key, entry, result };
}

let server: DevServer | undefined;

afterAll(async () => {
  await server?.stop();
});

describe("npm run api-key", () => {
  it("prints a new key once on the terminal and its entry (id, sha256, scopes) on stdout", {
    tags: ["node-versions"],
  }, () => {
    const { key, entry, result } = generate("ops-1", "links:write,links:read");
    expect(key).not.toBe("");
    expect(result.stderr.split(key)).toHaveLength(2); // once
    expect(result.stdout).not.toContain(key);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    expect(entry).toEqual({
      id: "ops-1",
      sha256: createHash("sha256").update(key).digest("hex"),
      scopes: ["links:write", "links:read"],
    });
    expect(result.filesLeft).toEqual([]);
  });

  it("makes a different key every time (256 random bits)", () => {
    const keys = new Set(Array.from({ length: 5 }, () => generate("ops-2", "admin").key));
    expect(keys.size).toBe(5);
  });

  it("knows exactly the service's scopes and refuses bad input with its usage", {
    tags: ["node-versions"],
  }, () => {
    const usage = run("--id", "x", "--scopes", "links:delete");
    expect(usage.status).toBe(2);
    expect(usage.stdout).toBe("");
    expect(usage.stderr).toContain("unknown scope(s): links:delete");
    const listed = /comma-separated: (.*?) \(/.exec(usage.stderr)?.[1]?.split(", ");
    expect(listed).toEqual([...scopes]);
    for (const args of [
      ["--scopes", "admin"],
      ["--id", "x".repeat(65), "--scopes", "admin"],
      ["--id", "x", "--scopes", ""],
      ["--id", "x", "--scopes", "admin", "--unknown"],
    ]) {
      const bad = run(...args);
      expect(bad.status, args.join(" ")).toBe(2);
      expect(bad.stdout).toBe("");
      expect(bad.stderr).toContain("usage:");
    }
  });

  it("the service accepts the key with exactly its scopes", async () => {
    const reader = generate("reader", "links:read");
    const admin = generate("ops-admin", "admin");
    server = await startDevServer({ API_KEYS: JSON.stringify([reader.entry, admin.entry]) });
    const call = (path: string, key: string, init: RequestInit = {}) =>
      fetch(`${server?.url}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      });
    // Past auth: an unknown link is 404, not 401.
    expect((await call("/v1/links/3q2-7wEAbcDEfGhIjKlMnO", reader.key)).status).toBe(404);
    const write = await call("/v1/links", reader.key, { method: "POST", body: "{}" });
    expect(write.status).toBe(403);
    expect(((await write.json()) as { error: { message: string } }).error.message).toContain(
      "links:write",
    );
    expect((await call("/v1/reconcile/runs", admin.key)).status).toBe(200);
    // The development keys are gone once API_KEYS is set; a made-up key is unknown.
    expect((await call("/v1/reconcile/runs", "dev-admin-key")).status).toBe(401);
    expect((await call("/v1/reconcile/runs", `${admin.key}x`)).status).toBe(401);
  });
});
