#!/usr/bin/env node
// @ts-check
/**
 * `node scripts/fake-qualtrics.js [--port 8788] [--token fake-token] [--polls 2] [--no-rate-limits]`:
 * run the fake Qualtrics API v3 (test/fake-qualtrics/server.js) on loopback so a local worker can
 * reconcile against it. Stops cleanly on Ctrl-C / SIGTERM.
 */
import { startFakeQualtrics } from "../test/fake-qualtrics/server.js";
import { parseFlags, refuse } from "./lib/cli.js";

const USAGE = `usage: npm run fake-qualtrics -- [--port 8788] [--token fake-token] [--polls 2] [--no-rate-limits]
  --port N           loopback port (default 8788; 0 picks a free one)
  --token T          the API token it accepts (default fake-token)
  --polls N          polls before an import, export or update job completes (default 2)
  --no-rate-limits   answer without the per-endpoint 429s
  --help             this text`;

const values = parseFlags(process.argv.slice(2), {
  usage: USAGE,
  options: {
    port: { type: "string", default: "8788" },
    token: { type: "string", default: "fake-token" },
    polls: { type: "string", default: "2" },
    "no-rate-limits": { type: "boolean", default: false },
  },
});

const port = Number(values.port);
const pollsToComplete = Number(values.polls);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  refuse(`--port must be a port number, got ${values.port}`, USAGE);
}
if (!Number.isInteger(pollsToComplete) || pollsToComplete < 0) {
  refuse(`--polls must be a whole number, got ${values.polls}`, USAGE);
}

const fake = await startFakeQualtrics({
  port,
  token: values.token,
  pollsToComplete,
  ...(values["no-rate-limits"] ? { rateLimits: /** @type {const} */ (false) } : {}),
});

console.log(`Fake Qualtrics API v3 at ${fake.baseUrl}`);
console.log(`  X-API-TOKEN: ${values.token}   OAuth: ${fake.tokenUrl} (fake-client / fake-secret)`);
console.log(
  "  directory POOL_fake, mailing list CG_fake; control and state under /_fake/ (GET /_fake/state)",
);
console.log("Point the worker at it:");
console.log(
  `  npm start -- --var QUALTRICS_BASE_URL:${fake.baseUrl} --var QUALTRICS_API_TOKEN:${values.token} ` +
    "--var QUALTRICS_DIRECTORY_ID:POOL_fake --var QUALTRICS_MAILING_LIST_ID:CG_fake",
);

let stopping = false;
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    fake.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
