import { applyD1Migrations, env } from "cloudflare:test";
import { afterAll } from "vitest";
import { shardBinding } from "../../src/config/config";
import { clearShardCounts } from "../helpers/ledger";

// Setup files run before each test file; applying migrations is idempotent. Every ledger shard
// of this project's LEDGER_SHARDS gets them, as `npm start` and the deploy guide do.
const shards = Number(env.LEDGER_SHARDS ?? "1");
for (let i = 0; i < shards; i++) {
  const db = env[shardBinding(i)];
  if (!db) throw new Error(`${shardBinding(i)} is not bound (wrangler.toml)`);
  await applyD1Migrations(db, env.TEST_MIGRATIONS);
}

// The files of a worker share its storage and modules (isolate: false): a shard count one file
// served (another LEDGER_SHARDS in its env) must not make the next file's requests refused.
await clearShardCounts();
afterAll(clearShardCounts);
