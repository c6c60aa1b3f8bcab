/**
 * The sweep's SQL in one ledger shard (migrations/0017_webhooks.sql): what happened since the
 * sweep's positions (opens, recorded completions, expiries, reminders due), read in one batch,
 * and the positions moved past what was sent, in another. Only the columns an event carries are
 * read: never the customer id or embedded data.
 */
import type { InviteEventRow } from "../events";

/** Invite columns of an event; `gone` when its personal data was purged or erased. */
const EVENT_COLUMNS = `i.id, i.survey, i.transaction_id, i.trigger, i.channel, i.issued_at,
  i.expires_at, i.consumed_at, i.completed_at, i.revoked_at,
  (i.customer_ref IS NULL) AS gone`;

/** A row read by the sweep and where it stands in its kind's order. */
interface SweptRow extends InviteEventRow {
  /** click_events id (opened), outbox id (completed), or the time the order is by. */
  position: number;
  /** When the event happened (open, recorded completion, expiry, reminder due). */
  at: number;
}

export interface ReminderWindow {
  survey: string;
  /** Invites issued up to this time are due (now minus the survey's reminder delay). */
  issuedUpTo: number;
}

interface ShardSweep {
  opened: SweptRow[];
  completed: SweptRow[];
  expired: SweptRow[];
  /** Per survey, in the order of `ReminderWindow`s given. */
  reminders: SweptRow[][];
}

const cursor = (name: string, column: "position" | "tie") =>
  `(SELECT ${column} FROM webhook_sweep WHERE name = ${name})`;

/**
 * Everything due in this shard since the sweep's positions, up to `limit` rows per kind, in one
 * batch: reminder positions of surveys seen for the first time start where the sweep began.
 */
export async function readShardSweep(
  db: D1Database,
  {
    expiredUpTo,
    reminders,
    limit,
  }: { expiredUpTo: number; reminders: ReminderWindow[]; limit: number },
): Promise<ShardSweep> {
  const startReminder = db.prepare(
    `INSERT OR IGNORE INTO webhook_sweep (name, position, tie)
     SELECT 'reminder:' || ?1, position, '' FROM webhook_sweep WHERE name = 'since'`,
  );
  const opened = db
    .prepare(
      `SELECT ce.id AS position, ce.at AS at, ${EVENT_COLUMNS}
       FROM click_events ce JOIN invites i ON i.id = ce.invite_id
       WHERE ce.id > ${cursor("'opened'", "position")} AND ce.outcome = 'opened'
       ORDER BY ce.id LIMIT ?1`,
    )
    .bind(limit);
  const completed = db
    .prepare(
      `SELECT o.id AS position, i.completed_at AS at, ${EVENT_COLUMNS}
       FROM webhook_outbox o JOIN invites i ON i.id = o.invite_id
       ORDER BY o.id LIMIT ?1`,
    )
    .bind(limit);
  // invites_unclaimed_expiry holds exactly the unopened, unrevoked invites, by expiry.
  const expired = db
    .prepare(
      `SELECT i.expires_at AS position, i.expires_at AS at, ${EVENT_COLUMNS}
       FROM invites i INDEXED BY invites_unclaimed_expiry
       WHERE i.consumed_at IS NULL AND i.revoked_at IS NULL
         AND (i.expires_at, i.id) > (${cursor("'expired'", "position")}, ${cursor("'expired'", "tie")})
         AND i.expires_at <= ?1 AND i.issued_at >= ${cursor("'since'", "position")}
       ORDER BY i.expires_at, i.id LIMIT ?2`,
    )
    .bind(expiredUpTo, limit);
  const reminderReads = reminders.map(({ survey, issuedUpTo }) =>
    db
      .prepare(
        `SELECT i.issued_at AS position, i.issued_at AS at, ${EVENT_COLUMNS}
         FROM invites i
         WHERE i.survey = ?1
           AND (i.issued_at, i.id) > (${cursor("'reminder:' || ?1", "position")},
                                      ${cursor("'reminder:' || ?1", "tie")})
           AND i.issued_at <= ?2
         ORDER BY i.issued_at, i.id LIMIT ?3`,
      )
      .bind(survey, issuedUpTo, limit),
  );
  const results = await db.batch<SweptRow>([
    ...reminders.map(({ survey }) => startReminder.bind(survey)),
    opened,
    completed,
    expired,
    ...reminderReads,
  ]);
  const reads = results.slice(reminders.length).map((r) => r.results);
  return {
    opened: reads[0] ?? [],
    completed: reads[1] ?? [],
    expired: reads[2] ?? [],
    reminders: reads.slice(3),
  };
}

/** Moves this shard's positions past the rows of `swept` (their events are on the queue). */
export async function advanceShardSweep(
  db: D1Database,
  swept: ShardSweep,
  reminders: readonly ReminderWindow[],
): Promise<void> {
  const move = db.prepare("UPDATE webhook_sweep SET position = ?2, tie = ?3 WHERE name = ?1");
  const statements: D1PreparedStatement[] = [];
  const last = (rows: SweptRow[]) => rows[rows.length - 1];
  const opened = last(swept.opened);
  if (opened) statements.push(move.bind("opened", opened.position, ""));
  const completed = last(swept.completed);
  if (completed) {
    statements.push(
      db.prepare("DELETE FROM webhook_outbox WHERE id <= ?").bind(completed.position),
    );
  }
  const expired = last(swept.expired);
  if (expired) statements.push(move.bind("expired", expired.position, expired.id));
  reminders.forEach(({ survey }, i) => {
    const reminder = last(swept.reminders[i] ?? []);
    if (reminder) statements.push(move.bind(`reminder:${survey}`, reminder.position, reminder.id));
  });
  if (statements.length > 0) await db.batch(statements);
}
