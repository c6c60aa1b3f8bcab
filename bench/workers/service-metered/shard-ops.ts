/**
 * Bench-only: times the ledger operations of one shard with the service's own query functions
 * (the same SQL the service sends), on the raw bindings, for the flat-shard phase
 * (bench/flat-shards.js): how each operation's time changes as a shard fills. Only the bench's
 * stats entry mounts it.
 *
 *   POST /__bench/shard-ops/time  {binding, op, ids, reps, now}: runs `op` `reps` times (or once
 *       per id), answers {ms}: the time of all of them, measured inside the Worker
 *   POST /__bench/shard-ops/size  {binding}: answers {bytes}: the database's size (D1's size_after)
 *   POST /__bench/shard-ops/purge {now, budget}: one retention run with that share of the budget
 *       (as the scheduled run gives it), answers its report
 */
import type { Env } from "../../../src/config/env";
import {
  markCompleted,
  selectInvitesAwaitingCompletion,
} from "../../../src/reconcile/storage/completion-rows";
import { purgeExpiredPersonalData } from "../../../src/retention/purge";
import { findInvitesToPurge } from "../../../src/retention/shard-queries";
import { readShardStats } from "../../../src/stats/shard-queries";
import { claimInviteRow, insertInviteRows } from "../../../src/store/invite-rows";
import { InvocationLimits } from "../../../src/store/limits";
import { openStore } from "../../../src/store/store";

const DAY = 86_400_000;
const SURVEYS = ["demo", "demo-ws", "demo-confirm"];

interface OpRequest {
  binding?: string;
  op?: string;
  ids?: string[];
  reps?: number;
  now?: number;
  budget?: number;
}

type Op = (
  db: D1Database,
  body: Required<Pick<OpRequest, "ids" | "reps" | "now">>,
) => Promise<void>;

/** Ids in groups of `size` (one completion export batch, one awaiting lookup). */
const groups = (ids: string[], size: number) =>
  Array.from({ length: Math.ceil(ids.length / size) }, (_, i) =>
    ids.slice(i * size, (i + 1) * size),
  );

const OPS: Record<string, Op> = {
  async claim(db, { ids, now }) {
    for (const id of ids) {
      await claimInviteRow(db, id, {
        tap: { at: now, uaClass: "mobile", country: "FR" },
        nonce: "bench",
        claimableSurveys: SURVEYS,
      });
    }
  },
  async issue(db, { ids, now }) {
    for (const id of ids) {
      await insertInviteRows(db, [
        {
          id,
          survey: "demo",
          transactionId: `bench-${id}`,
          customerRef: `bench-customer-${id.slice(-6)}`,
          trigger: "ticket_scanned",
          channel: "push",
          language: null,
          embeddedData: '{"venue":"Arena North","event":"Finals","seat":"B12"}',
          requestHash: "0".repeat(64),
          issuedAt: now,
          expiresAt: now + 7 * DAY,
          sig: "x".repeat(110),
        },
      ]);
    }
  },
  async complete(db, { ids, now }) {
    for (const group of groups(ids, 100)) {
      await markCompleted(
        db,
        "demo",
        group.map((id) => ({ id, responseId: `R_${id}`, at: now, tampered: 0 })),
      );
    }
  },
  async awaiting(db, { ids }) {
    for (const group of groups(ids, 100)) await selectInvitesAwaitingCompletion(db, "demo", group);
  },
  async purge_search(db, { reps, now }) {
    for (let i = 0; i < reps; i++) await findInvitesToPurge(db, now, 500);
  },
  async stats(db, { reps, now }) {
    const today = Math.floor(now / DAY);
    for (let i = 0; i < reps; i++) {
      await readShardStats(db, { fromDay: today - 30, beforeDay: today + 1, now }, "day");
    }
  },
};

function database(env: Env, binding: unknown): D1Database {
  const db =
    typeof binding === "string" && /^DB(?:_\d+)?$/.test(binding)
      ? (env as unknown as Record<string, unknown>)[binding]
      : null;
  if (!db || typeof db !== "object") throw new Error(`no D1 binding ${String(binding)}`);
  return db as D1Database;
}

async function handle(request: Request, env: Env): Promise<Response> {
  const { pathname } = new URL(request.url);
  const body = (await request.json()) as OpRequest;
  if (pathname === "/__bench/shard-ops/size") {
    const { meta } = await database(env, body.binding).prepare("SELECT 1").run();
    return Response.json({ bytes: (meta as { size_after?: number }).size_after ?? null });
  }
  if (pathname === "/__bench/shard-ops/purge") {
    const store = openStore(env, new InvocationLimits()).share(body.budget ?? 300);
    const started = Date.now();
    const report = await purgeExpiredPersonalData(env, { store, now: body.now ?? Date.now() });
    return Response.json({ ...report, ms: Date.now() - started });
  }
  const op = OPS[body.op ?? ""];
  if (!op) return Response.json({ error: `unknown op ${body.op}` }, { status: 400 });
  const db = database(env, body.binding);
  const started = Date.now();
  await op(db, { ids: body.ids ?? [], reps: body.reps ?? 1, now: body.now ?? Date.now() });
  return Response.json({ ms: Date.now() - started });
}

/** `worker` with the shard-ops routes in front (POST only, under /__bench/shard-ops/). */
export function withShardOps<
  W extends {
    fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
  },
>(worker: W): W {
  return {
    ...worker,
    async fetch(request: Request, env: Env, ctx: ExecutionContext) {
      const { pathname } = new URL(request.url);
      if (request.method !== "POST" || !pathname.startsWith("/__bench/shard-ops/")) {
        return worker.fetch(request, env, ctx);
      }
      try {
        return await handle(request, env);
      } catch (error) {
        return Response.json({ error: String(error) }, { status: 500 });
      }
    },
  };
}
