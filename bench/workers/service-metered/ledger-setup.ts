/**
 * Bench-only: sets up the ledger of the stats phase through the Worker itself, on its raw
 * bindings (never metered, never counted). The stats phase runs 32 local shards; one
 * `wrangler d1` process per shard and step takes tens of seconds on a busy 2-core machine, while
 * one request per shard takes well under one. Only the bench's stats entry mounts these routes.
 *
 *   POST /__bench/ledger/migrate  {binding, migrations: [{name, queries}]}: applies the
 *       migrations not yet applied, each in one batch, recording them in d1_migrations the way
 *       `wrangler d1 migrations apply` does (so the health check sees the ledger migrated)
 *   POST /__bench/ledger/sql      {binding, statements}: runs the statements in one batch and
 *       answers the last one's rows
 */

interface Migration {
  name: string;
  queries: string[];
}

interface WorkerLike<E, C> {
  fetch(request: Request, env: E, ctx: C): Response | Promise<Response>;
}

type Bindings = Record<string, unknown>;

function database(env: Bindings, binding: unknown): D1Database {
  const db = typeof binding === "string" && /^DB(?:_\d+)?$/.test(binding) ? env[binding] : null;
  if (!db || typeof db !== "object") throw new Error(`no D1 binding ${String(binding)}`);
  return db as D1Database;
}

async function migrate(db: D1Database, migrations: Migration[]): Promise<string[]> {
  await db
    .prepare(
      `CREATE TABLE IF NOT EXISTS d1_migrations (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         name TEXT UNIQUE,
         applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
       )`,
    )
    .run();
  const { results } = await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>();
  const applied = new Set(results.map((r) => r.name));
  const record = db.prepare("INSERT INTO d1_migrations (name) VALUES (?)");
  const done: string[] = [];
  for (const { name, queries } of migrations) {
    if (applied.has(name)) continue;
    await db.batch([...queries.map((q) => db.prepare(q)), record.bind(name)]);
    done.push(name);
  }
  return done;
}

async function setup(request: Request, env: Bindings): Promise<Response> {
  const { pathname } = new URL(request.url);
  const body = (await request.json()) as {
    binding?: unknown;
    migrations?: Migration[];
    statements?: string[];
  };
  const db = database(env, body.binding);
  if (pathname === "/__bench/ledger/migrate") {
    return Response.json({ applied: await migrate(db, body.migrations ?? []) });
  }
  const statements = (body.statements ?? []).map((sql) => db.prepare(sql));
  const results = statements.length > 0 ? await db.batch(statements) : [];
  return Response.json({ rows: results.at(-1)?.results ?? [] });
}

/** `worker` with the ledger setup routes in front (POST only, under /__bench/ledger/). */
export function withLedgerSetup<E extends object, C, W extends WorkerLike<E, C>>(worker: W): W {
  return {
    ...worker,
    async fetch(request: Request, env: E, ctx: C) {
      const { pathname } = new URL(request.url);
      if (request.method !== "POST" || !pathname.startsWith("/__bench/ledger/")) {
        return worker.fetch(request, env, ctx);
      }
      try {
        return await setup(request, env as Bindings);
      } catch (error) {
        return new Response(error instanceof Error ? error.message : String(error), {
          status: 500,
        });
      }
    },
  };
}
