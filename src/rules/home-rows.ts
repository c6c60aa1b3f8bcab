/**
 * The SQL of a customer's home shard (migrations/0018_contact_rules.sql): the decision, made by
 * one conditional write per request inside one D1 batch, so concurrent requests for a customer
 * are serialised by the database and exactly the allowed number reserve a slot; the release and
 * confirmation of reservations; and what earlier shards hold for a customer.
 */
import type { ContactEvent, OptOutRecord } from "./evaluate";

/** One request to decide, as the home shard sees it. */
export interface HomeDecisionInput {
  /** The customer's hashes, newest first (records are written under the first). */
  hashes: readonly string[];
  survey: string;
  transactionId: string;
  trigger: string;
  /** The invite id a reservation carries (the invite to be inserted). */
  inviteId: string;
  now: number;
  /** False when a check before frequency already suppresses (sampled out, opted out elsewhere). */
  eligible: boolean;
  /** Keep contact history (at least one rule configured). */
  keepHistory: boolean;
  /** The rules in scope, as the write checks them. */
  rules: readonly SqlRule[];
  /** This shard's share of the survey's daily cap, and the day; null without a cap. */
  cap: { share: number; day: number } | null;
  /** History is read back from this time (the longest rule window). */
  historySince: number;
}

/** A rule as the conditional write applies it. */
export interface SqlRule {
  since: number;
  max: number;
  /** Events counted on earlier shards of the customer (read before). */
  earlier: number;
  count: "issued" | "opened" | "completed";
  surveys: readonly string[] | null;
  triggers: readonly string[] | null;
}

/** What the home shard answered for one request, read in the same transaction. */
export interface HomeState {
  /** The decision already recorded for this survey + transactionId, if any. */
  pair: { outcome: "issued" | "suppressed"; inviteId: string | null } | null;
  /** True when this call's write reserved the slot (or counted it against the cap). */
  reserved: boolean;
  optOuts: OptOutRecord[];
  history: (ContactEvent & { inviteId: string | null; confirmed: boolean })[];
  /** Invites of the survey this shard counted today; null without a cap. */
  capUsed: number | null;
}

const HASHES = "(SELECT value FROM json_each(?1))";

const OPTED_OUT = `EXISTS (SELECT 1 FROM opt_outs o WHERE o.customer_hash IN ${HASHES}
  AND (o.surveys IS NULL OR EXISTS (SELECT 1 FROM json_each(o.surveys) WHERE value = ?2)))`;

/** Some rule of ?7 has `max` or more counted events (here and on earlier shards). */
const OVER_A_RULE = `EXISTS (SELECT 1 FROM json_each(?7) r WHERE r.value ->> '$.earlier' + (
  SELECT count(*) FROM contact_history h
  WHERE h.customer_hash IN ${HASHES} AND h.outcome = 'issued'
    AND (CASE r.value ->> '$.count' WHEN 'opened' THEN h.opened_at
         WHEN 'completed' THEN h.completed_at ELSE h.decided_at END) > r.value ->> '$.since'
    AND (r.value ->> '$.surveys' IS NULL
         OR h.survey IN (SELECT value FROM json_each(r.value, '$.surveys')))
    AND (r.value ->> '$.triggers' IS NULL
         OR h.trigger IN (SELECT value FROM json_each(r.value, '$.triggers')))
  ) >= r.value ->> '$.max')`;

/** The survey's cap share (?8) is spent for the day (?9); null ?8: no cap. */
const CAP_SPENT = `(?8 IS NOT NULL AND
  ifnull((SELECT issued FROM issue_caps WHERE survey = ?2 AND day = ?9), 0) >= ?8)`;

const ALLOWED = `?6 AND NOT ${OPTED_OUT} AND NOT ${OVER_A_RULE} AND NOT ${CAP_SPENT}`;

/**
 * The decision's statements for one request: reserve (history row, cap count) when every check
 * passes, else record the suppression in the history; then read back what explains it.
 */
function decisionStatements(db: D1Database, input: HomeDecisionInput): D1PreparedStatement[] {
  const [current] = input.hashes;
  const params = [
    JSON.stringify(input.hashes),
    input.survey,
    input.transactionId,
    input.trigger,
    input.inviteId,
    input.eligible ? 1 : 0,
    JSON.stringify(input.rules),
    input.cap?.share ?? null,
    input.cap?.day ?? null,
    input.now,
    current,
    input.historySince,
  ];
  // D1 wants exactly as many bindings as the highest ?N a statement names.
  const prepare = (sql: string) => {
    const highest = Math.max(...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
    return db.prepare(sql).bind(...params.slice(0, highest));
  };
  const statements: D1PreparedStatement[] = [];
  if (input.keepHistory) {
    statements.push(
      prepare(
        `INSERT INTO contact_history (customer_hash, survey, transaction_id, trigger, outcome,
             invite_id, decided_at)
           SELECT ?11, ?2, ?3, ?4, 'issued', ?5, ?10
           WHERE NOT EXISTS (SELECT 1 FROM contact_history WHERE customer_hash IN ${HASHES}
                             AND survey = ?2 AND transaction_id = ?3)
             AND ${ALLOWED}`,
      ),
    );
  }
  if (input.cap) {
    // With history, the cap counts this call's reservation; without, the cap is the write.
    const reservedHere = input.keepHistory
      ? `EXISTS (SELECT 1 FROM contact_history WHERE customer_hash = ?11 AND survey = ?2
           AND transaction_id = ?3 AND invite_id = ?5)`
      : ALLOWED;
    statements.push(
      prepare(
        `INSERT INTO issue_caps (survey, day, issued) SELECT ?2, ?9, 1 WHERE ${reservedHere}
           ON CONFLICT (survey, day) DO UPDATE SET issued = issued + 1
           RETURNING issued`,
      ),
    );
  }
  if (input.keepHistory) {
    statements.push(
      prepare(
        `INSERT INTO contact_history (customer_hash, survey, transaction_id, trigger, outcome,
             decided_at, confirmed)
           VALUES (?11, ?2, ?3, ?4, 'suppressed', ?10, 1)
           ON CONFLICT DO NOTHING`,
      ),
    );
  }
  statements.push(
    prepare(
      `SELECT 'pair' AS kind, outcome, invite_id, NULL AS surveys, NULL AS t1, NULL AS t2,
           NULL AS t3, NULL AS survey, NULL AS trigger, confirmed
         FROM contact_history WHERE customer_hash IN ${HASHES} AND survey = ?2 AND transaction_id = ?3
         UNION ALL
         SELECT 'opt_out', NULL, NULL, surveys, since, NULL, NULL, NULL, NULL, NULL
         FROM opt_outs WHERE customer_hash IN ${HASHES}
         UNION ALL
         SELECT 'event', NULL, invite_id, NULL, decided_at, opened_at, completed_at, survey,
           trigger, confirmed
         FROM contact_history WHERE customer_hash IN ${HASHES} AND outcome = 'issued'
           AND (decided_at > ?12 OR opened_at > ?12 OR completed_at > ?12)
         UNION ALL
         SELECT 'cap', NULL, NULL, NULL, issued, NULL, NULL, NULL, NULL, NULL
         FROM issue_caps WHERE ?8 IS NOT NULL AND survey = ?2 AND day = ?9`,
    ),
  );
  return statements;
}

interface StateRow {
  kind: "pair" | "opt_out" | "event" | "cap";
  outcome: "issued" | "suppressed" | null;
  invite_id: string | null;
  surveys: string | null;
  t1: number | null;
  t2: number | null;
  t3: number | null;
  survey: string | null;
  trigger: string | null;
  confirmed: number | null;
}

function readState(
  input: HomeDecisionInput,
  rows: readonly StateRow[],
  capCounted: boolean,
): HomeState {
  const state: HomeState = {
    pair: null,
    reserved: false,
    optOuts: [],
    history: [],
    capUsed: input.cap ? 0 : null,
  };
  for (const row of rows) {
    if (row.kind === "pair" && row.outcome) {
      state.pair = { outcome: row.outcome, inviteId: row.invite_id };
      state.reserved = row.outcome === "issued" && row.invite_id === input.inviteId;
    } else if (row.kind === "opt_out") {
      state.optOuts.push(optOutRecord(row.surveys, row.t1 ?? 0));
    } else if (row.kind === "event") {
      state.history.push({
        survey: row.survey ?? "",
        trigger: row.trigger ?? "",
        decidedAt: row.t1 ?? 0,
        openedAt: row.t2,
        completedAt: row.t3,
        inviteId: row.invite_id,
        confirmed: row.confirmed === 1,
      });
    } else if (row.kind === "cap") {
      state.capUsed = row.t1;
    }
  }
  if (!input.keepHistory) state.reserved = capCounted;
  if (state.reserved && state.pair?.inviteId === input.inviteId) state.pair = null;
  return state;
}

/** An opt-out row's surveys column: a JSON array, or NULL for every survey. */
export function optOutRecord(surveys: string | null, since: number): OptOutRecord {
  return { surveys: surveys === null ? null : (JSON.parse(surveys) as string[]), since };
}

/**
 * Decides every request of `inputs` in one batch on this home shard, in order: a later request
 * of the batch sees the reservations of the earlier ones. One state per input.
 */
export async function decideOnHomeShard(
  db: D1Database,
  inputs: readonly HomeDecisionInput[],
): Promise<HomeState[]> {
  const perInput = inputs.map((input) => decisionStatements(db, input));
  const results = await db.batch<StateRow & { issued?: number }>(perInput.flat());
  let at = 0;
  return inputs.map((input, i) => {
    const count = perInput[i]?.length ?? 0;
    const own = results.slice(at, at + count);
    at += count;
    const capResult = input.cap ? own[input.keepHistory ? 1 : 0] : undefined;
    const last = own[own.length - 1];
    return readState(input, last?.results ?? [], (capResult?.results.length ?? 0) > 0);
  });
}

/** A reservation to confirm (its invite exists) or release (it never will). */
export interface Reservation {
  hash: string;
  survey: string;
  transactionId: string;
  inviteId: string;
  /** The cap day it was counted on, when the survey has a cap. */
  capDay: number | null;
}

/** Confirms reservations whose invites now exist (a retry that completed one names its invite). */
export async function confirmReservations(
  db: D1Database,
  reservations: readonly Reservation[],
): Promise<void> {
  const statement = db.prepare(
    `UPDATE contact_history SET confirmed = 1, invite_id = ?4
     WHERE customer_hash = ?1 AND survey = ?2 AND transaction_id = ?3 AND outcome = 'issued'`,
  );
  await db.batch(
    reservations.map((r) => statement.bind(r.hash, r.survey, r.transactionId, r.inviteId)),
  );
}

/** Releases reservations whose invite will not exist: the slot and the cap count go back. */
export async function releaseReservations(
  db: D1Database,
  reservations: readonly Reservation[],
): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  for (const r of reservations) {
    statements.push(
      db
        .prepare("DELETE FROM contact_history WHERE customer_hash = ?1 AND invite_id = ?2")
        .bind(r.hash, r.inviteId),
    );
    if (r.capDay !== null) {
      statements.push(
        db
          .prepare(
            "UPDATE issue_caps SET issued = max(0, issued - 1) WHERE survey = ?1 AND day = ?2",
          )
          .bind(r.survey, r.capDay),
      );
    }
  }
  if (statements.length > 0) await db.batch(statements);
}

/** A customer's opt-outs and issued history since `since` on an earlier shard of theirs. */
export async function readCustomerRecords(
  db: D1Database,
  hashes: readonly string[],
  since: number,
): Promise<{ optOuts: OptOutRecord[]; history: ContactEvent[] }> {
  const list = JSON.stringify(hashes);
  const [optOuts, history] = await db.batch<Record<string, unknown>>([
    db.prepare(`SELECT surveys, since FROM opt_outs WHERE customer_hash IN ${HASHES}`).bind(list),
    db
      .prepare(
        `SELECT survey, trigger, decided_at, opened_at, completed_at FROM contact_history
         WHERE customer_hash IN ${HASHES} AND outcome = 'issued'
           AND (decided_at > ?2 OR opened_at > ?2 OR completed_at > ?2)`,
      )
      .bind(list, since),
  ]);
  return {
    optOuts: (optOuts?.results ?? []).map((r) =>
      optOutRecord(r.surveys as string | null, r.since as number),
    ),
    history: (history?.results ?? []).map((r) => ({
      survey: r.survey as string,
      trigger: r.trigger as string,
      decidedAt: r.decided_at as number,
      openedAt: r.opened_at as number | null,
      completedAt: r.completed_at as number | null,
    })),
  };
}

/** A stale reservation to settle, or the suppressed decision of a request to decide again. */
export type StaleRow =
  | {
      kind: "reservation";
      inviteId: string;
      exists: boolean;
      survey: string;
      capDay: number | null;
    }
  | { kind: "decision"; hash: string; survey: string; transactionId: string };

/**
 * Settles reservations found stale (their call never confirmed them): confirmed where the invite
 * exists, released where it never will (the slot, and the cap count of its day when `capped`).
 */
export async function settleStaleRows(db: D1Database, rows: readonly StaleRow[]): Promise<void> {
  const statements = rows.flatMap((r) => {
    if (r.kind === "decision") {
      // The suppression the first look recorded: the request is decided again.
      return [
        db
          .prepare(
            `DELETE FROM contact_history WHERE customer_hash = ?1 AND survey = ?2
               AND transaction_id = ?3 AND outcome = 'suppressed'`,
          )
          .bind(r.hash, r.survey, r.transactionId),
      ];
    }
    if (r.exists) {
      return [
        db
          .prepare("UPDATE contact_history SET confirmed = 1 WHERE invite_id = ?1")
          .bind(r.inviteId),
      ];
    }
    const release = [
      db
        .prepare("DELETE FROM contact_history WHERE invite_id = ?1 AND confirmed = 0")
        .bind(r.inviteId),
    ];
    if (r.capDay !== null) {
      release.push(
        db
          .prepare(
            "UPDATE issue_caps SET issued = max(0, issued - 1) WHERE survey = ?1 AND day = ?2",
          )
          .bind(r.survey, r.capDay),
      );
    }
    return release;
  });
  if (statements.length > 0) await db.batch(statements);
}
