// @ts-check
/**
 * Flags of the project's scripts, read by Node's own parser in strict mode: a flag the script does
 * not know (a misspelt `--dryrun`) is refused with the usage and exit code 2 instead of being
 * ignored, and `--help` (or `-h`) prints the usage and exits 0.
 */
import { parseArgs } from "node:util";

/**
 * @template {import("node:util").ParseArgsConfig["options"]} O
 * @param {string[]} argv the arguments after the script's name
 * @param {{ usage: string; options: O }} spec
 * @returns {ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>["values"]}
 */
export function parseFlags(argv, { usage, options }) {
  /** @type {ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>} */
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    refuse(error instanceof Error ? error.message : String(error), usage);
  }
  if (/** @type {Record<string, unknown>} */ (parsed.values).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parsed.values;
}

/**
 * A flag's value that does not make sense: the message and the usage on stderr, exit 2.
 * @param {string} message @param {string} usage @returns {never}
 */
export function refuse(message, usage) {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}
