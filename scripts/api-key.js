#!/usr/bin/env node
// @ts-check
/**
 * `npm run -s api-key -- --id ops-1 --scopes links:write,links:read`: make a new API key.
 * The key goes to the terminal once (stderr); the `API_KEYS` entry ({id, sha256, scopes}) goes to
 * stdout, so `> entry.json` saves the entry and never the key. Nothing is written to a file here:
 * the service keeps only the SHA-256 of a key, and so should everything else.
 */
import { createHash, randomBytes } from "node:crypto";
import { parseFlags, refuse } from "./lib/cli.js";

/** The scopes the service knows (src/config/config.ts; test/e2e/api-key.e2e.ts keeps the lists equal). */
const SCOPES = ["links:write", "links:read", "stats:read", "privacy", "optouts:write", "admin"];

const USAGE = `usage: npm run -s api-key -- --id <id> --scopes <scope>[,<scope>...]
  --id       a name for the key, 1-64 characters (shown in logs as apiKeyId)
  --scopes   comma-separated: ${SCOPES.join(", ")} (admin holds every scope)
  --help     this text`;

/**
 * A key: 32 random bytes, base64url, with a recognisable prefix (secret scanners and people can
 * tell what it is). Its entry: the key's SHA-256 as lowercase hex, as the service compares it.
 * @param {string} id @param {string[]} scopes
 */
function newApiKey(id, scopes) {
  const key = `ie_${randomBytes(32).toString("base64url")}`;
  const sha256 = createHash("sha256").update(key, "utf8").digest("hex");
  return { key, entry: { id, sha256, scopes } };
}

/** @param {string[]} argv @returns {{ id: string; scopes: string[] }} */
function parseOptions(argv) {
  const values = parseFlags(argv, {
    usage: USAGE,
    options: { id: { type: "string" }, scopes: { type: "string" } },
  });
  const id = values.id ?? "";
  if (id.length < 1 || id.length > 64) refuse("--id must be 1-64 characters", USAGE);
  const scopes = [...new Set((values.scopes ?? "").split(",").map((s) => s.trim()))].filter(
    Boolean,
  );
  if (scopes.length === 0) refuse("--scopes needs at least one scope", USAGE);
  const unknown = scopes.filter((s) => !SCOPES.includes(s));
  if (unknown.length > 0) refuse(`unknown scope(s): ${unknown.join(", ")}`, USAGE);
  return { id, scopes };
}

const options = parseOptions(process.argv.slice(2));
const { key, entry } = newApiKey(options.id, options.scopes);
process.stderr.write(
  `New API key for "${entry.id}" (shown once; give it to its user over a secure channel):\n\n` +
    `  ${key}\n\n` +
    "Add the entry below (stdout) to the API_KEYS JSON array and set it again:\n" +
    "  npx wrangler secret put API_KEYS --env production\n\n",
);
process.stdout.write(`${JSON.stringify(entry)}\n`);
