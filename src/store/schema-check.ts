/**
 * Is a ledger database's schema in place? `wrangler d1 migrations apply` records every applied
 * migration by name in `d1_migrations`; the build knows the name of the last one in migrations/
 * (a test keeps the two in step). One database per call, so it can be asked of each shard.
 */
import { describeError } from "../core/log";

/** The newest file in migrations/. */
export const LATEST_MIGRATION = "0019_flat_shards.sql";

/** `ready`: the latest migration was applied. `not_migrated`: it was not (or none was). */
export type LedgerSchemaState = "ready" | "not_migrated" | "unavailable";

export async function ledgerSchemaState(db: D1Database): Promise<LedgerSchemaState> {
  try {
    const row = await db
      .prepare("SELECT 1 AS applied FROM d1_migrations WHERE name = ?")
      .bind(LATEST_MIGRATION)
      .first();
    return row ? "ready" : "not_migrated";
  } catch (error) {
    // No migrations table at all: nothing was ever applied. Anything else: the store failed.
    return /no such table/i.test(describeError(error)) ? "not_migrated" : "unavailable";
  }
}
