/**
 * Which Chromium the browser tests drive: CHROMIUM_PATH when set (`packaged` picks the npm one),
 * else the system's /usr/bin/chromium when there is one, else the Chromium shipped inside the npm
 * package @sparticuz/chromium, so `npm test` needs nothing but Node and npm. Nothing is downloaded.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import packaged from "@sparticuz/chromium";
import { type Browser, chromium } from "playwright-core";

const SYSTEM_CHROMIUM = "/usr/bin/chromium";

/** Flags for every Chromium: headless, and no traffic of the browser's own to other hosts. */
const COMMON_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/**
 * The packaged build's own flags (made for AWS Lambda), less those that turn off web security
 * (the tests check what the pages' security headers allow) and `--single-process`, in which
 * closing one browser context brings the whole browser down.
 */
const DROPPED = new Set([
  "--disable-web-security",
  "--allow-running-insecure-content",
  "--disable-site-isolation-trials",
  "--single-process",
]);

export interface ChromiumBinary {
  executablePath: string;
  args: string[];
  source: "CHROMIUM_PATH" | "system" | "@sparticuz/chromium";
}

/** `chosen` is CHROMIUM_PATH's value; `systemPath` where a system Chromium would be. */
export async function findChromium(
  chosen: string | undefined,
  systemPath: string,
): Promise<ChromiumBinary> {
  if (chosen && chosen !== "packaged") {
    return { executablePath: chosen, args: COMMON_ARGS, source: "CHROMIUM_PATH" };
  }
  if (!chosen && existsSync(systemPath)) {
    return { executablePath: systemPath, args: COMMON_ARGS, source: "system" };
  }
  const args = [...packaged.args.filter((arg) => !DROPPED.has(arg)), ...COMMON_ARGS];
  return { executablePath: await unpackedChromium(), args, source: "@sparticuz/chromium" };
}

/**
 * Unpacks the packaged Chromium once per package version into the temp directory and reuses it.
 * The package unpacks into `os.tmpdir()` and reuses any `chromium` it finds there, whatever its
 * version; so it unpacks into a fresh staging directory (TMPDIR pointed there for the call),
 * which is then renamed into place: a concurrent run never sees a half-written binary.
 */
async function unpackedChromium(): Promise<string> {
  const version = packagedVersion();
  const target = join(tmpdir(), `invite-edge-chromium-${version}`);
  if (existsSync(join(target, "chromium"))) return join(target, "chromium");
  const staging = mkdtempSync(`${target}-staging-`);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  try {
    await packaged.executablePath();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
  try {
    renameSync(staging, target);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another run put its copy there first
  }
  return join(target, "chromium");
}

/** The package exports no ./package.json: walk up from its entry point to its manifest. */
function packagedVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve("@sparticuz/chromium"));
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version: string };
      if (manifest.name === "@sparticuz/chromium") return manifest.version;
    }
    if (dirname(dir) === dir) throw new Error("@sparticuz/chromium's package.json not found");
    dir = dirname(dir);
  }
}

export async function launchChromium(binary?: ChromiumBinary): Promise<Browser> {
  const { executablePath, args } =
    binary ?? (await findChromium(process.env.CHROMIUM_PATH, SYSTEM_CHROMIUM));
  return chromium.launch({ executablePath, args });
}
