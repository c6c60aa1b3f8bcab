// @ts-check
/**
 * `npm start`: apply the D1 migrations to the local database, then run `wrangler dev` with local
 * KV and D1 and the development configuration from wrangler.toml. Extra arguments go to
 * `wrangler dev` (`npm start -- --port 8788 --var NAME:value`).
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const wrangler = fileURLToPath(new URL("../node_modules/.bin/wrangler", import.meta.url));
const args = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

// The local database must live where `wrangler dev` will look for it.
const persistIndex = args.indexOf("--persist-to");
const persist = persistIndex >= 0 ? ["--persist-to", String(args[persistIndex + 1])] : [];

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", ...persist], {
  cwd: root,
  env: { ...env, CI: "true" },
  stdio: "inherit",
});
if (migrate.status !== 0) {
  console.error("Applying the D1 migrations failed; see above.");
  process.exit(migrate.status ?? 1);
}

const dev = spawn(wrangler, ["dev", "--local", ...args], { cwd: root, env, stdio: "inherit" });
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => dev.kill(signal));
}
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
