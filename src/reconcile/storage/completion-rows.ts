/**
 * Completions on invites, in their shard: which opened invites still wait for a response, and
 * marking them completed (once) with their response id and tamper check.
 */

/**
 * Per survey, when its oldest invite still waiting for a response was opened (surveys with none
 * are left out). One statement for every survey (index invites_awaiting_response).
 */
export async function oldestAwaitingInShard(
  db: D1Database,
  surveys: readonly string[],
  openedAfter: number,
): Promise<{ survey: string; at: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT survey, MIN(consumed_at) AS at FROM invites
       WHERE survey IN (SELECT value FROM json_each(?1)) AND consumed_at IS NOT NULL
         AND completed_at IS NULL AND consumed_at > ?2
       GROUP BY survey`,
    )
    .bind(JSON.stringify(surveys), openedAfter)
    .all<{ survey: string; at: number }>();
  return results;
}

/**
 * The invite row fields a completion needs to check the response against the signed values, and
 * whether the invite has its response already (a response read again changes nothing).
 */
export interface AwaitingInvite {
  id: string;
  customer_ref: string | null;
  transaction_id: string;
  trigger: string;
  embedded_data: string | null;
  completed: 0 | 1;
}

/**
 * The invites among `ids` that this shard holds for `survey`, completed or not: an id missing
 * from the answer names no invite any more (removed after retention) or never did. By id
 * (primary key): `+survey` keeps SQLite from reading every invite of the survey instead.
 */
export async function selectInvitesAwaitingCompletion(
  db: D1Database,
  survey: string,
  ids: string[],
): Promise<AwaitingInvite[]> {
  if (ids.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT id, customer_ref, transaction_id, trigger, embedded_data,
         completed_at IS NOT NULL AS completed
       FROM invites WHERE id IN (SELECT value FROM json_each(?1)) AND +survey = ?2`,
    )
    .bind(JSON.stringify(ids), survey)
    .all<AwaitingInvite>();
  return results;
}

export interface Completion {
  id: string;
  responseId: string;
  at: number;
  /** 1 when the response's URL values differ from the signed ones; null when not checkable. */
  tampered: 0 | 1 | null;
}

/** Marks invites of a survey completed, once each; returns the ids newly completed. */
export async function markCompleted(
  db: D1Database,
  survey: string,
  completions: readonly Completion[],
): Promise<string[]> {
  // The completions drive the loop: each finds its invite by id (primary key). `+survey` keeps
  // SQLite from reading every invite of the survey instead (its plan at volume: seconds).
  const { results } = await db
    .prepare(
      `UPDATE invites SET completed_at = c.value ->> '$.at',
         response_id = c.value ->> '$.responseId', tampered = c.value ->> '$.tampered'
       FROM json_each(?1) AS c
       WHERE invites.id = c.value ->> '$.id' AND +invites.survey = ?2
         AND invites.completed_at IS NULL
       RETURNING invites.id AS id`,
    )
    .bind(JSON.stringify(completions), survey)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}
