/**
 * The invites ledger of one shard: the only place invite SQL lives. The ledger is the truth for
 * single use (KV's consumed mark is only a fast path), for idempotent issue and for every count,
 * and it holds what a tap needs: each invite's values and their signature (`sig`), from which
 * the tap rebuilds and checks the survey link (src/tap/survey-target.ts).
 */
export interface NewInvite {
  id: string;
  survey: string;
  transactionId: string;
  customerRef: string;
  trigger: string;
  channel: string | null;
  /** Qualtrics language code (src/links/language.ts), null when the issue call gave none. */
  language: string | null;
  embeddedData: string;
  requestHash: string;
  issuedAt: number;
  expiresAt: number;
  /**
   * The detached signature of the link's values (src/tokens/link-signature.ts): the tap rebuilds
   * the values from the row and checks them against it, so the row need not hold a whole token.
   */
  sig: string;
}

export interface InviteRow {
  id: string;
  survey: string;
  transaction_id: string;
  customer_ref: string | null;
  trigger: string;
  channel: string | null;
  embedded_data: string | null;
  request_hash: string;
  issued_at: number;
  expires_at: number;
  consumed_at: number | null;
  reopen_count: number;
  blocked_count: number;
  preview_count: number;
  revoked_at: number | null;
  completed_at: number | null;
  /**
   * The signed invite JWT of links issued before the ledger kept only `sig`; null for links
   * issued since, for links issued before tokens moved into the ledger, and once purged.
   */
  token: string | null;
  /** The signature of the link's values (migrations/0019_flat_shards.sql); null once purged. */
  sig: string | null;
  claim_nonce: string | null;
  /** Set when an erasure request deleted its personal data (migrations/0008_privacy.sql). */
  erased_at: number | null;
  /** The customer's Qualtrics language code (migrations/0009_invite_language.sql). */
  language: string | null;
  /**
   * Same-device re-open (migrations/0013_same_device.sql): a keyed hash of the device that first
   * opened the invite, and when its window ends; both null when the survey leaves it off, and
   * once the window is over and the scheduled job cleared them.
   */
  device_hash: string | null;
  device_until: number | null;
  /** Re-opens from another browser on the same device (also counted in `reopen_count`). */
  cross_browser_count: number;
}

/**
 * What a tap was, as click_events.outcome records it. `cross_browser`: a re-open from another
 * browser on the device that opened the invite, inside its same-device window.
 */
const TAP_OUTCOMES = [
  "opened",
  "reopened",
  "cross_browser",
  "blocked",
  "preview",
  "expired",
  "revoked",
] as const;
export type TapOutcome = (typeof TAP_OUTCOMES)[number];

/** Who tapped, coarsely (click_events.ua_class; never the user agent itself). */
const UA_CLASSES = ["mobile", "desktop", "bot", "other"] as const;
export type UaClass = (typeof UA_CLASSES)[number];

export interface TapContext {
  at: number;
  uaClass: UaClass;
  country: string | null;
}

/**
 * Inserts invites in one round trip. Returns, per input, whether it was inserted; an existing
 * (survey, transaction) pair is left untouched so the caller can compare request hashes.
 */
export async function insertInviteRows(db: D1Database, invites: NewInvite[]): Promise<boolean[]> {
  if (invites.length === 0) return [];
  const statement = db.prepare(
    `INSERT INTO invites (id, survey, transaction_id, customer_ref, trigger, channel, embedded_data,
       request_hash, issued_at, expires_at, sig, language)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (survey, transaction_id) DO NOTHING
     RETURNING id`,
  );
  const results = await db.batch<{ id: string }>(
    invites.map((i) =>
      statement.bind(
        i.id,
        i.survey,
        i.transactionId,
        i.customerRef,
        i.trigger,
        i.channel,
        i.embeddedData,
        i.requestHash,
        i.issuedAt,
        i.expiresAt,
        i.sig,
        i.language,
      ),
    ),
  );
  return results.map((r) => r.results.length === 1);
}

/** The existing invites for (survey, transaction) pairs, in input order (null when absent). */
export async function selectInvitesByTransaction(
  db: D1Database,
  keys: { survey: string; transactionId: string }[],
): Promise<(InviteRow | null)[]> {
  if (keys.length === 0) return [];
  const statement = db.prepare("SELECT * FROM invites WHERE survey = ? AND transaction_id = ?");
  const results = await db.batch<InviteRow>(
    keys.map((k) => statement.bind(k.survey, k.transactionId)),
  );
  return results.map((r) => r.results[0] ?? null);
}

export async function selectInvite(db: D1Database, id: string): Promise<InviteRow | null> {
  return db.prepare("SELECT * FROM invites WHERE id = ?").bind(id).first<InviteRow>();
}

export interface ClaimAttempt {
  tap: TapContext;
  /** Recorded with a winning claim; a retry carrying the same nonce is that claim's browser. */
  nonce: string;
  /** Surveys this tap may claim (configured ones; for a GET, not those behind a confirm page). */
  claimableSurveys: readonly string[];
}

export interface ClaimResult {
  /** This tap consumed the invite, or an earlier claim with the same nonce did. */
  won: boolean;
  /** The invite as it is after the attempt; null when there is no invite with this id. */
  row: InviteRow | null;
}

/**
 * The single-use claim, and everything the tap answers with, in one round trip: a conditional
 * UPDATE (of any number of concurrent taps exactly one sees a row come back), the opened event
 * only when that UPDATE changed a row (same transaction, so the event log and the claim cannot
 * disagree), and the row as it is afterwards: its token for the redirect, or why it was refused.
 * Invites whose personal data is gone (purged) cannot be claimed: there is nothing to send.
 */
export async function claimInviteRow(
  db: D1Database,
  id: string,
  { tap, nonce, claimableSurveys }: ClaimAttempt,
): Promise<ClaimResult> {
  const [claim, , read] = await db.batch<InviteRow | { id: string }>([
    db
      .prepare(
        `UPDATE invites SET consumed_at = ?1, claim_nonce = ?3
         WHERE id = ?2 AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > ?1
           AND customer_ref IS NOT NULL AND survey IN (SELECT value FROM json_each(?4))
         RETURNING id`,
      )
      .bind(tap.at, id, nonce, JSON.stringify(claimableSurveys)),
    db
      .prepare(
        `INSERT INTO click_events (invite_id, at, outcome, country, ua_class)
         SELECT ?1, ?2, 'opened', ?3, ?4 WHERE changes() = 1`,
      )
      .bind(id, tap.at, tap.country, tap.uaClass),
    db.prepare("SELECT * FROM invites WHERE id = ?").bind(id),
  ]);
  const row = (read?.results[0] as InviteRow | undefined) ?? null;
  const claimed = (claim?.results.length ?? 0) === 1;
  return { won: claimed || (row !== null && row.claim_nonce === nonce), row };
}

/**
 * Keeps the device that opened the invite for its same-device window: only on the claim made
 * with `nonce`, and only once (a retry of the same claim changes nothing).
 */
export async function keepDeviceRow(
  db: D1Database,
  id: string,
  nonce: string,
  device: { hash: string; until: number },
): Promise<void> {
  await db
    .prepare(
      `UPDATE invites SET device_hash = ?3, device_until = ?4
       WHERE id = ?1 AND claim_nonce = ?2 AND device_hash IS NULL`,
    )
    .bind(id, nonce, device.hash, device.until)
    .run();
}

/**
 * Undoes a claim whose token turned out not to verify (storage was tampered with, or its signing
 * key was removed from the ring): the invite is as unclaimed as before, its opened event gone.
 * Only the claim with this nonce, so a later genuine claim is never undone.
 */
export async function releaseClaimRow(db: D1Database, id: string, nonce: string): Promise<void> {
  await db.batch([
    db
      .prepare(
        `UPDATE invites SET consumed_at = NULL, claim_nonce = NULL, device_hash = NULL,
           device_until = NULL
         WHERE id = ? AND claim_nonce = ?`,
      )
      .bind(id, nonce),
    db
      .prepare(
        "DELETE FROM click_events WHERE invite_id = ? AND outcome = 'opened' AND changes() = 1",
      )
      .bind(id),
  ]);
}

/** The invite counters each kind of tap moves (the stats triggers add them up). */
const COUNTERS: Partial<Record<TapOutcome, readonly string[]>> = {
  reopened: ["reopen_count"],
  cross_browser: ["reopen_count", "cross_browser_count"],
  blocked: ["blocked_count"],
  preview: ["preview_count"],
};

export interface TapRecord extends TapContext {
  inviteId: string;
  outcome: TapOutcome;
}

/** Events per INSERT: D1 binds at most 100 parameters per statement, 5 per event. */
const EVENTS_PER_INSERT = 20;

/**
 * Records taps that did not claim (re-opens, refusals, previews, expired and revoked taps) in
 * one D1 batch, whatever their number: the invites' counters move by the number of taps each
 * got, and every tap gets its click event. One transaction, so counters and events agree.
 */
export async function recordTaps(db: D1Database, records: readonly TapRecord[]): Promise<void> {
  if (records.length === 0) return;
  const increments = new Map<string, { column: string; id: string; by: number }>();
  for (const r of records) {
    for (const column of COUNTERS[r.outcome] ?? []) {
      const key = `${column}:${r.inviteId}`;
      const entry = increments.get(key) ?? { column, id: r.inviteId, by: 0 };
      entry.by += 1;
      increments.set(key, entry);
    }
  }
  const statements = [...increments.values()].map(({ column, id, by }) =>
    db.prepare(`UPDATE invites SET ${column} = ${column} + ? WHERE id = ?`).bind(by, id),
  );
  for (let i = 0; i < records.length; i += EVENTS_PER_INSERT) {
    const chunk = records.slice(i, i + EVENTS_PER_INSERT);
    statements.push(
      db
        .prepare(
          `INSERT INTO click_events (invite_id, at, outcome, country, ua_class) VALUES ${chunk
            .map(() => "(?, ?, ?, ?, ?)")
            .join(", ")}`,
        )
        .bind(...chunk.flatMap((r) => [r.inviteId, r.at, r.outcome, r.country, r.uaClass])),
    );
  }
  await db.batch(statements);
}

/** What a revocation did: `revoked` is false when the link had expired unopened (left as it was). */
export interface RevokeResult {
  revoked: boolean;
  row: InviteRow;
}

/**
 * Revokes an invite, unless it expired unopened: an expired link stays `expired` (revoking it
 * would move it to `revoked` in past stats). One round trip: the conditional update, then the row
 * as it is afterwards. Null when the id is unknown.
 */
export async function revokeInviteRow(
  db: D1Database,
  id: string,
  at: number,
): Promise<RevokeResult | null> {
  const [update, read] = await db.batch<InviteRow>([
    db
      .prepare(
        `UPDATE invites SET revoked_at = COALESCE(revoked_at, ?1)
         WHERE id = ?2 AND NOT (consumed_at IS NULL AND revoked_at IS NULL AND expires_at <= ?1)
         RETURNING id`,
      )
      .bind(at, id),
    db.prepare("SELECT * FROM invites WHERE id = ?").bind(id),
  ]);
  const row = read?.results[0];
  return row ? { revoked: (update?.results.length ?? 0) === 1, row } : null;
}
