// @ts-check
/**
 * Child processes of the benchmark: every one is started in its own process
 * group and remembered by pid, so that the whole tree (wrangler → workerd,
 * esbuild) is stopped at the end, on an error, or on a signal. Nothing is ever
 * stopped by name.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";

/** @typedef {import("node:child_process").ChildProcess} ChildProcess */
/** @typedef {{ name: string; child: ChildProcess; exited: Promise<number | null>; done: boolean }} Tracked */

/** @type {Set<Tracked>} */
const tracked = new Set();

/**
 * A free TCP port on the loopback interface.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pids of every live descendant of `root`, read from /proc (Linux). */
function descendantsOf(/** @type {number} */ root) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  let entries = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces, so split after ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const found = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const pid of children.get(/** @type {number} */ (queue.shift())) ?? []) {
      found.push(pid);
      queue.push(pid);
    }
  }
  return found;
}

/** @param {number} pid @param {NodeJS.Signals} signal */
function signal(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Stops one tracked process and its whole tree: SIGTERM to its group and its
 * descendants, then SIGKILL to whatever is left after `graceMs`.
 * @param {Tracked} entry
 */
async function stopTracked(entry, graceMs = 5000) {
  const pid = entry.child.pid;
  if (pid === undefined) return;
  const tree = descendantsOf(pid);
  // The group outlives its leader when wrangler exits before workerd does.
  signal(-pid, "SIGTERM");
  for (const child of tree) signal(child, "SIGTERM");
  const deadline = Date.now() + graceMs;
  const alive = () =>
    [pid, ...tree].filter((p) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    });
  while (alive().length > 0 && Date.now() < deadline) await sleep(100);
  signal(-pid, "SIGKILL");
  for (const p of alive()) signal(p, "SIGKILL");
  await Promise.race([entry.exited, sleep(1000)]);
  tracked.delete(entry);
}

/**
 * Starts a command in its own process group, output appended to `logFile`.
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd: string; env?: NodeJS.ProcessEnv; logFile: string }} options
 */
export function startProcess(name, command, args, { cwd, env, logFile }) {
  const fd = openSync(logFile, "a");
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  closeSync(fd);
  /** @type {Tracked} */
  const entry = {
    name,
    child,
    done: false,
    exited: new Promise((resolve) => {
      child.on("exit", (code) => {
        entry.done = true;
        resolve(code);
      });
      child.on("error", () => {
        entry.done = true;
        resolve(-1);
      });
    }),
  };
  tracked.add(entry);
  return {
    pid: child.pid,
    exited: entry.exited,
    isRunning: () => !entry.done,
    stop: () => stopTracked(entry),
  };
}

/**
 * Runs a command to completion (tracked like the servers, so a signal stops it).
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }} options
 * @returns {Promise<{ code: number | null; stdout: string; stderr: string }>}
 */
export function runCommand(command, args, { cwd, env, timeoutMs = 600_000 }) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  /** @type {Tracked} */
  const entry = {
    name: `${command} ${args.slice(0, 3).join(" ")}`,
    child,
    done: false,
    exited: Promise.resolve(null),
  };
  tracked.add(entry);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  entry.exited = new Promise((resolve) => {
    const timer = setTimeout(() => {
      stderr += `\n(timed out after ${timeoutMs} ms)`;
      void stopTracked(entry);
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      entry.done = true;
      resolve(code);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      entry.done = true;
      stderr += String(error);
      resolve(-1);
    });
  });
  return entry.exited.then(async (code) => {
    // wrangler may leave a workerd behind in its group: stop the group too.
    await stopTracked(entry, 2000);
    return { code, stdout, stderr };
  });
}

/** Stops every process this run started, newest first. */
export async function stopAll() {
  for (const entry of [...tracked].reverse()) await stopTracked(entry);
}

/** Last resort when Node is exiting: SIGKILL every group still tracked, synchronously. */
function killAllNow() {
  for (const entry of tracked) {
    const pid = entry.child.pid;
    if (pid === undefined) continue;
    for (const child of descendantsOf(pid)) signal(child, "SIGKILL");
    signal(-pid, "SIGKILL");
  }
}

let stopping = false;

/** True once a signal or a crash is stopping the run: output past that point is noise. */
export const isStopping = () => stopping;

/**
 * Stops everything on SIGINT/SIGTERM/SIGHUP, on an uncaught error, and (as a
 * last resort) when the process exits.
 * @param {() => void} [beforeStop]  synchronous clean-up run first (stop load generators)
 * @param {() => void} [afterStop]  synchronous clean-up run last (remove temp files)
 */
export function stopEverythingOnExit(beforeStop, afterStop) {
  /** @param {number} code */
  const stopAndExit = async (code) => {
    if (stopping) return;
    stopping = true;
    try {
      beforeStop?.();
      await stopAll();
      afterStop?.();
    } finally {
      process.exit(code);
    }
  };
  for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping every process started\n`);
      void stopAndExit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
    });
  }
  process.on("uncaughtException", (error) => {
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    void stopAndExit(1);
  });
  process.on("unhandledRejection", (error) => {
    process.stderr.write(`bench: unhandled ${error instanceof Error ? error.stack : error}\n`);
    void stopAndExit(1);
  });
  process.on("exit", killAllNow);
}
