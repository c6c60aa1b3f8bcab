/**
 * The record of deliveries in the control database (migrations/0017_webhooks.sql): one row per
 * event and subscription that failed, was dead-lettered or replayed, and counters per
 * subscription and day. A success writes nothing unless the delivery had failed before, and the
 * counters are added once per queue batch, so the database is not written on every event. Rows
 * keep the event's body (its transaction id is personal data): retention deletes them by age and
 * an erasure by invite.
 */
import type { WebhookEvent } from "../events";

export const DELIVERY_STATUSES = ["failing", "dead", "replayed", "delivered"] as const;
type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryRow {
  event_id: string;
  subscription: string;
  type: string;
  invite_id: string | null;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface DeliveryOutcome {
  event: WebhookEvent;
  /** '' for an event dead-lettered before it reached a subscription. */
  subscription: string;
  status: Exclude<DeliveryStatus, "replayed">;
  attempts: number;
  error: string | null;
}

export interface CounterIncrement {
  subscription: string;
  delivered: number;
  failed: number;
  dead: number;
}

const inviteIdOf = (event: WebhookEvent): string | null => {
  const id: unknown = Reflect.get(event.data, "inviteId");
  return typeof id === "string" ? id : null;
};

/** Records what happened to deliveries, and adds counters, in one batch (nothing when empty). */
export async function recordDeliveries(
  db: D1Database,
  outcomes: readonly DeliveryOutcome[],
  counters: readonly CounterIncrement[],
  now: number,
): Promise<void> {
  const upsert = db.prepare(
    `INSERT INTO webhook_deliveries (event_id, subscription, type, invite_id, body, status,
       attempts, last_error, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
     ON CONFLICT (event_id, subscription) DO UPDATE SET status = excluded.status,
       attempts = excluded.attempts, last_error = ifnull(excluded.last_error, last_error),
       updated_at = excluded.updated_at`,
  );
  // A success only updates a row its failures left; it never creates one.
  const delivered = db.prepare(
    `UPDATE webhook_deliveries SET status = 'delivered', attempts = ?3, updated_at = ?4
     WHERE event_id = ?1 AND subscription = ?2`,
  );
  const count = db.prepare(
    `INSERT INTO webhook_counters (day, subscription, delivered, failed, dead)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (day, subscription) DO UPDATE SET delivered = delivered + excluded.delivered,
       failed = failed + excluded.failed, dead = dead + excluded.dead`,
  );
  const statements = outcomes.map((o) =>
    o.status === "delivered"
      ? delivered.bind(o.event.id, o.subscription, o.attempts, now)
      : upsert.bind(
          o.event.id,
          o.subscription,
          o.event.type,
          inviteIdOf(o.event),
          JSON.stringify(o.event),
          o.status,
          o.attempts,
          o.error,
          now,
        ),
  );
  const day = Math.floor(now / 86_400_000);
  for (const c of counters) {
    if (c.delivered + c.failed + c.dead > 0) {
      statements.push(count.bind(day, c.subscription, c.delivered, c.failed, c.dead));
    }
  }
  if (statements.length > 0) await db.batch(statements);
}

/** The most recently updated deliveries, newest first, optionally of one status. */
export async function listDeliveries(
  db: D1Database,
  { status, limit }: { status: DeliveryStatus | undefined; limit: number },
): Promise<DeliveryRow[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM webhook_deliveries WHERE ?1 IS NULL OR status = ?1
       ORDER BY updated_at DESC, event_id LIMIT ?2`,
    )
    .bind(status ?? null, limit)
    .all<DeliveryRow>();
  return results;
}

export interface CounterRow {
  day: number;
  subscription: string;
  delivered: number;
  failed: number;
  dead: number;
}

/** Counters of the last `days` days, newest first. */
export async function listCounters(db: D1Database, fromDay: number): Promise<CounterRow[]> {
  const { results } = await db
    .prepare(
      `SELECT day, subscription, delivered, failed, dead FROM webhook_counters
       WHERE day >= ? ORDER BY day DESC, subscription`,
    )
    .bind(fromDay)
    .all<CounterRow>();
  return results;
}

/** The failed or dead deliveries of these events (optionally for one subscription). */
export async function findReplayable(
  db: D1Database,
  eventIds: readonly string[],
  subscription: string | undefined,
): Promise<DeliveryRow[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM webhook_deliveries
       WHERE event_id IN (SELECT value FROM json_each(?1)) AND status IN ('failing', 'dead')
         AND (?2 IS NULL OR subscription = ?2)`,
    )
    .bind(JSON.stringify(eventIds), subscription ?? null)
    .all<DeliveryRow>();
  return results;
}

/** Marks deliveries as sent again (their messages are on the queue). */
export async function markReplayed(
  db: D1Database,
  rows: readonly Pick<DeliveryRow, "event_id" | "subscription">[],
  now: number,
): Promise<void> {
  const mark = db.prepare(
    `UPDATE webhook_deliveries SET status = 'replayed', updated_at = ?3
     WHERE event_id = ?1 AND subscription = ?2`,
  );
  if (rows.length > 0) await db.batch(rows.map((r) => mark.bind(r.event_id, r.subscription, now)));
}

/** Deletes up to `limit` delivery rows last updated before `before`; returns how many. */
export async function deleteDeliveriesBefore(
  db: D1Database,
  before: number,
  limit: number,
): Promise<number> {
  const result = await db
    .prepare(
      `DELETE FROM webhook_deliveries WHERE rowid IN (
         SELECT rowid FROM webhook_deliveries WHERE updated_at < ?1 LIMIT ?2)`,
    )
    .bind(before, limit)
    .run();
  return result.meta.changes ?? 0;
}

/** Deletes the delivery rows (and their stored bodies) of these invites. */
export async function deleteDeliveriesOfInvites(
  db: D1Database,
  inviteIds: readonly string[],
): Promise<void> {
  if (inviteIds.length === 0) return;
  await db
    .prepare("DELETE FROM webhook_deliveries WHERE invite_id IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(inviteIds))
    .run();
}
