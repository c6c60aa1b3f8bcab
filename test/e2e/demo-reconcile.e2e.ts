/**
 * `npm run demo:reconcile`: one command runs the whole reconcile loop (fake Qualtrics, issue,
 * tap, responses, reconcile) on its own temporary state, prints what the run did, stops what it
 * started and leaves the repository exactly as it found it.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "./harness";

/** What git sees (ignored entries included) and every path under `.wrangler`, wrangler's own dir. */
function repositoryState(): string {
  const status = spawnSync("git", ["status", "--porcelain", "--ignored"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  const wranglerDir = join(ROOT, ".wrangler");
  const wranglerFiles = existsSync(wranglerDir)
    ? readdirSync(wranglerDir, { recursive: true }).map(String).sort()
    : [];
  // Files that run beside this one leave traces of their own for the moment they run: the
  // provision test's copy of wrangler.toml (.provision-test-*.toml) and wrangler dev's bundles
  // (.wrangler/tmp). What the demo could leave behind is state: .wrangler/state, and the rest.
  const changes = status.stdout
    .split("\n")
    .filter((line) => !line.includes(".provision-test-") && line !== "!! .wrangler/")
    .join("\n");
  const state = wranglerFiles.filter((file) => !file.startsWith("tmp"));
  return `${changes}\n${state.join("\n")}`;
}

function runDemo(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "-s", "demo:reconcile"], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    // The demo stops everything it started on SIGTERM.
    const timer = setTimeout(() => child.kill("SIGTERM"), 150_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const section = (output: string, heading: string) =>
  output.slice(output.indexOf(`${heading}\n`) + heading.length);

it("npm run demo:reconcile runs the loop, prints the run and leaves nothing behind", {
  tags: ["node-versions"],
}, async () => {
  const before = repositoryState();
  const { code, output } = await runDemo();
  expect(code, output).toBe(0);

  // Four invites pushed once; three completions, the edited one tampered, the one without sig noticed.
  const first = section(output, "POST /v1/reconcile");
  expect(first).toMatch(/pushed: +4\n/);
  expect(first).toMatch(/completions: +3\n/);
  expect(first).toMatch(/tampered: +1\n/);
  expect(first).toMatch(/stamped: +3\n/);
  expect(first).toMatch(
    /notices: +1\n +sig_missing: 1 response\(s\) of survey "demo" carry no sig/,
  );
  expect(output).toContain("transactions: 4, at most 1 per invite");
  // The edited seat is stamped back to the issued one and flagged; the others are not flagged.
  expect(output).toMatch(/stamped R_\w+: seat B2, invite_tampered 1\n/);
  expect(output.match(/stamped R_\w+: seat B[13], invite_tampered 0\n/g)).toHaveLength(2);
  // A second run sends nothing twice.
  const again = section(output, "POST /v1/reconcile again");
  expect(again).toMatch(/pushed: +0\n/);
  expect(again).toMatch(/completions: +0\n/);

  // Everything it started is stopped, its temporary state deleted, the repository untouched.
  const pid = Number(/Stopped wrangler dev \(pid (\d+)\)/.exec(output)?.[1]);
  expect(pid).toBeGreaterThan(0);
  expect(() => process.kill(pid, 0)).toThrow();
  const temp = /Removed (\S+)\.\n/.exec(output)?.[1] ?? "";
  expect(temp).toContain("invite-edge-demo-");
  expect(existsSync(temp)).toBe(false);
  expect(repositoryState()).toBe(before);
});
