#!/usr/bin/env node
// @ts-check
/**
 * `npm run demo:reconcile`: the whole reconcile loop, on throw-away state, in one command.
 *
 * A fake Qualtrics (test/fake-qualtrics, in this process) and a `wrangler dev` on free loopback
 * ports with its own temporary ledger; four links issued, three tapped, three responses recorded
 * in the fake the way Qualtrics records them from the survey URL (one with an edited seat, one
 * without `sig`); then `POST /v1/reconcile` twice, and what it did, printed. Everything it starts
 * is stopped by process id and its temporary directory deleted, also on Ctrl-C or a failure, so
 * the repository is left as it was (wrangler's own `.wrangler/tmp` is removed if it was not there
 * before and is empty again).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, sleep } from "../bench/lib/processes.js";
import { startFakeQualtrics } from "../test/fake-qualtrics/server.js";
import { parseFlags } from "./lib/cli.js";

// It takes no flags: anything but --help is refused rather than silently ignored.
parseFlags(process.argv.slice(2), {
  usage:
    "usage: npm run demo:reconcile\n  The whole reconcile loop against a fake Qualtrics, on temporary state, cleaned up after.\n  --help   this text",
  options: {},
});

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
// The development configuration in wrangler.toml: its keys and its `demo` survey (SV_demo).
const ISSUER_KEY = "dev-issuer-key";
const ADMIN_KEY = "dev-admin-key";
const SURVEY = "demo";
const QUALTRICS_SURVEY = "SV_demo";
const QUALTRICS_TOKEN = "demo-token";
const ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" };

/** Clean-up steps, run newest first, once, whatever happens. @type {(() => Promise<void>)[]} */
const cleanups = [];
let cleaning = false;

async function cleanUp() {
  if (cleaning) return;
  cleaning = true;
  for (const step of cleanups.reverse()) {
    try {
      await step();
    } catch (error) {
      console.error(`clean-up: ${error instanceof Error ? error.message : error}`);
    }
  }
}

for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping what the demo started`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** @param {number} pid */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a process group started with `detached: true` (wrangler, workerd and esbuild share it):
 * SIGTERM lets wrangler remove its temporary bundle, SIGKILL follows if it does not exit.
 * @param {number} pid
 */
async function stopGroup(pid) {
  const signalGroup = (/** @type {NodeJS.Signals} */ signal) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  signalGroup("SIGTERM");
  for (let waited = 0; isAlive(pid) && waited < 10_000; waited += 100) await sleep(100);
  signalGroup("SIGKILL");
}

/** wrangler writes its bundles under `.wrangler/tmp` in the repository: leave no new empty dirs. */
function removeNewWranglerDirsAtTheEnd() {
  const dirs = [join(ROOT, ".wrangler", "tmp"), join(ROOT, ".wrangler")];
  const existing = dirs.filter((dir) => existsSync(dir));
  cleanups.push(async () => {
    for (const dir of dirs) {
      if (existing.includes(dir)) continue;
      try {
        rmdirSync(dir); // only when empty: never anything someone else put there
      } catch {
        // not empty or not there: keep it
      }
    }
  });
}

/**
 * `wrangler dev` on free ports with its ledger in `persistTo` (migrated first, as `npm start`
 * does), pointed at the fake Qualtrics.
 * @param {string} persistTo @param {Record<string, string>} vars
 */
async function startWorker(persistTo, vars) {
  const migrate = spawnSync(
    process.execPath,
    [
      join(ROOT, "scripts/provision-shards.js"),
      "--local",
      "--shards",
      "1",
      "--persist-to",
      persistTo,
    ],
    { cwd: ROOT, env: ENV, encoding: "utf8" },
  );
  if (migrate.status !== 0)
    throw new Error(`migrations failed:\n${migrate.stdout}${migrate.stderr}`);

  const port = await freePort();
  const args = ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port)];
  args.push("--inspector-port", String(await freePort()), "--persist-to", persistTo);
  args.push("--show-interactive-dev-session=false", "--log-level", "warn");
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: ENV,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("wrangler dev did not start");
  cleanups.push(async () => {
    await stopGroup(pid);
    console.log(`Stopped wrangler dev (pid ${pid}).`);
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });

  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(250)) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, pid };
    } catch {
      // not listening yet
    }
  }
  throw new Error(`wrangler dev did not become ready:\n${output}`);
}

/**
 * @param {"GET" | "POST"} method @param {string} url @param {string} key @param {unknown} [body]
 * @returns {Promise<any>} the JSON answer (shapes: the OpenAPI document at /openapi.json)
 */
async function call(method, url, key, body) {
  const response = await fetch(url, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The survey URL a tap redirects to. @param {string} link */
async function tap(link) {
  const response = await fetch(link, { redirect: "manual" });
  const location = response.headers.get("Location");
  if (response.status !== 302 || !location) throw new Error(`tap ${link}: ${response.status}`);
  return location;
}

/** What Qualtrics records as embedded data from a survey URL: its query parameters. */
const landingValues = (/** @type {string} */ location) =>
  Object.fromEntries(new URL(location).searchParams);

/** @param {any} run a ReconcileRun */
function printRun(run) {
  console.log(`  status:      ${run.status} (${run.qualtricsCalls} Qualtrics calls)`);
  console.log(`  pushed:      ${run.pushed}`);
  console.log(`  completions: ${run.completions}`);
  console.log(`  tampered:    ${run.tampered}`);
  console.log(`  stamped:     ${run.stamped}`);
  console.log(`  notices:     ${run.notices.length}`);
  for (const notice of run.notices) console.log(`    ${notice.code}: ${notice.message}`);
  if (run.error) console.log(`  error:       ${run.error}`);
}

async function main() {
  const temp = mkdtempSync(join(tmpdir(), "invite-edge-demo-"));
  cleanups.push(async () => {
    rmSync(temp, { recursive: true, force: true });
    console.log(`Removed ${temp}.`);
  });
  removeNewWranglerDirsAtTheEnd();
  console.log(`Temporary state: ${temp}`);

  // As strict as the record of Qualtrics: the survey's first export fails as documented, and
  // an export naming embedded data the survey flow does not declare is refused.
  const fake = await startFakeQualtrics({
    token: QUALTRICS_TOKEN,
    pollsToComplete: 1,
    failFirstExport: true,
  });
  cleanups.push(async () => {
    await fake.close();
    console.log("Stopped the fake Qualtrics.");
  });
  console.log(`Fake Qualtrics: ${fake.baseUrl} (directory POOL_fake, mailing list CG_fake)`);
  // The survey flow as docs/configuration.md sets it up for a query-mode survey.
  fake.declareEmbeddedData(QUALTRICS_SURVEY, [
    "venue",
    "event",
    "seat",
    "customer_id",
    "transaction_id",
    "trigger",
    "inv",
    "sig",
    "invite_tampered",
    "invite_duplicate",
  ]);

  const worker = await startWorker(join(temp, "state"), {
    QUALTRICS_BASE_URL: fake.baseUrl,
    QUALTRICS_API_TOKEN: QUALTRICS_TOKEN,
    QUALTRICS_DIRECTORY_ID: "POOL_fake",
    QUALTRICS_MAILING_LIST_ID: "CG_fake",
    QUALTRICS_POLL_INTERVAL_MS: "200",
  });
  console.log(`invite-edge:    ${worker.url} (wrangler dev, pid ${worker.pid})\n`);

  const seats = ["B1", "B2", "B3", "B4"];
  const links = [];
  for (const [i, seat] of seats.entries()) {
    links.push(
      await call("POST", `${worker.url}/v1/links`, ISSUER_KEY, {
        survey: SURVEY,
        customerId: `customer-${i + 1}`,
        transactionId: `demo-scan-${i + 1}`,
        trigger: "ticket_scanned",
        channel: "in_app",
        embeddedData: { venue: "Arena North", event: "Finals", seat },
      }),
    );
  }
  console.log(`Issued ${links.length} links (survey ${SURVEY}, seats ${seats.join(", ")}).`);
  const landings = [];
  for (const link of links.slice(0, 3)) landings.push(await tap(link.url));
  console.log("Tapped the first 3; the fourth is never opened.");

  const [first = "", second = "", third = ""] = landings;
  const { sig: _dropped, ...withoutSig } = landingValues(third);
  fake.addResponses(QUALTRICS_SURVEY, [
    { embeddedData: landingValues(first) },
    { embeddedData: { ...landingValues(second), seat: "A1" } },
    { embeddedData: withoutSig },
  ]);
  console.log(
    "Recorded 3 responses in the fake Qualtrics from those survey URLs: the first as issued,\n" +
      "the second with its seat edited from B2 to A1, the third without sig (as a survey flow\n" +
      "that does not declare it records it).\n",
  );

  console.log("POST /v1/reconcile");
  const run = await call("POST", `${worker.url}/v1/reconcile`, ADMIN_KEY);
  printRun(run);

  const state = fake.snapshot();
  const perInvite = new Map();
  for (const t of state.transactions) {
    const id = t.transactionData.invite_id;
    perInvite.set(id, (perInvite.get(id) ?? 0) + 1);
  }
  console.log("\nIn the fake Qualtrics:");
  console.log(
    `  transactions: ${state.transactions.length}, at most ${Math.max(0, ...perInvite.values())} per invite`,
  );
  for (const update of state.updatesApplied) {
    const data = update.embeddedData;
    console.log(
      `  stamped ${update.responseId}: seat ${data.seat}, invite_tampered ${data.invite_tampered}`,
    );
  }

  console.log("\nPOST /v1/reconcile again");
  const again = await call("POST", `${worker.url}/v1/reconcile`, ADMIN_KEY);
  printRun(again);
  const { backlog } = await call("GET", `${worker.url}/v1/reconcile/runs?limit=2`, ADMIN_KEY);
  console.log(`  backlog:     ${JSON.stringify(backlog)}\n`);
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  console.error(`\ndemo:reconcile failed: ${error instanceof Error ? error.message : error}`);
} finally {
  await cleanUp();
}
process.exit(failed ? 1 : 0);
