/**
 * What an export's responses complete: a finished response whose `inv` names an invite of the
 * survey still waiting completes it, once (first response wins), checked against the values
 * invite-edge signed. A later finished response to an invite already completed by another is a
 * duplicate: recorded once in the invite's shard, checked the same way, and stamped
 * `invite_duplicate` = "1" (stamp.ts); it never completes the invite again. Responses arrive in batches as the file downloads; each batch is recorded in
 * the invites' shards at once, and what the run reports (completions, tampered, notices) adds up
 * over the batches. Recording is idempotent, so a batch read twice changes nothing.
 */
import type { Config, Survey } from "../config/config";
import { inviteValues, linkValueSourceFromRow } from "../links";
import type { ExportedResponse } from "../qualtrics/exported-responses";
import { recordContactActivity } from "../rules";
import { placementCounts } from "../store/shard-counts";
import type { Store } from "../store/store";
import { isInviteId } from "../tokens/ids";
import type { RunContext } from "./run-context";
import type { AwaitingInvite, Completion } from "./storage/completion-rows";
import { findInvitesAwaitingCompletion, recordCompletions } from "./storage/completions";
import {
  type DuplicateResponse,
  findCompletedInvites,
  recordDuplicates,
} from "./storage/duplicates";
import { checkResponse } from "./tamper-check";

/** The values invite-edge signed for an invite, rebuilt from its ledger row (null once purged). */
export function signedValues(
  row: Omit<AwaitingInvite, "completed">,
): Record<string, string> | null {
  const source = linkValueSourceFromRow(row);
  return source ? inviteValues(row.id, source) : null;
}

/** One survey's export, read batch by batch: what it completed and found, added up. */
export function createExportTally(ctx: RunContext, survey: Survey) {
  let responsesRead = 0;
  let lastRecordedAt: number | null = null;
  let completions = 0;
  let tampered = 0;
  let unsigned = 0;
  let lacking = 0;
  let duplicates = 0;
  let unmatched = 0;
  const missing = new Set<string>();

  return {
    /** Records one batch of responses. */
    async add(responses: ExportedResponse[]): Promise<void> {
      responsesRead += responses.length;
      for (const r of responses) {
        const at = r.recordedDate ? Date.parse(r.recordedDate) : Number.NaN;
        if (!Number.isNaN(at)) lastRecordedAt = Math.max(lastRecordedAt ?? at, at);
      }
      const found = await matchResponses(ctx.config, ctx.store, survey, responses, ctx.now());
      const newly = new Set(await recordCompletions(ctx.store, survey.key, found.completions));
      duplicates += await recordDuplicateResponses(ctx, survey, responses, newly);
      await countForContactRules(ctx, found, newly);
      completions += newly.size;
      unmatched += found.unmatched;
      tampered += found.completions.filter((c) => newly.has(c.id) && c.tampered === 1).length;
      unsigned += [...found.withoutSig].filter((id) => newly.has(id)).length;
      for (const [id, names] of found.missingFields) {
        if (!newly.has(id)) continue;
        lacking += 1;
        for (const name of names) missing.add(name);
      }
    },
    /** Adds the export's findings to the run's tally; the numbers the export position needs. */
    finish(): { responsesRead: number; lastRecordedAt: number | null } {
      ctx.tally.completions += completions;
      ctx.tally.tampered += tampered;
      if (unmatched > 0) {
        ctx.tally.notices.push({ survey: survey.key, code: "unmatched", responses: unmatched });
      }
      if (unsigned > 0) {
        ctx.tally.notices.push({ survey: survey.key, code: "sig_missing", responses: unsigned });
      }
      if (duplicates > 0) {
        ctx.tally.notices.push({
          survey: survey.key,
          code: "duplicate_responses",
          responses: duplicates,
        });
      }
      if (lacking > 0) {
        ctx.tally.notices.push({
          survey: survey.key,
          code: "field_missing",
          responses: lacking,
          fields: [...missing].sort(),
        });
      }
      return { responsesRead, lastRecordedAt };
    },
  };
}

/** The finished responses of a batch that name an invite, by invite id. */
function finishedByInvite(responses: ExportedResponse[]): Map<string, ExportedResponse[]> {
  const byInvite = new Map<string, ExportedResponse[]>();
  for (const response of responses) {
    const inv = response.embeddedData.inv;
    if (!response.finished || inv === undefined || !isInviteId(inv)) continue;
    byInvite.set(inv, [...(byInvite.get(inv) ?? []), response]);
  }
  return byInvite;
}

/**
 * Records the batch's duplicate responses; returns how many were new. Only invites this batch
 * did not just complete with their only response can have one, so the common batch (first
 * responses) costs no lookup.
 */
async function recordDuplicateResponses(
  ctx: RunContext,
  survey: Survey,
  responses: ExportedResponse[],
  newlyCompleted: ReadonlySet<string>,
): Promise<number> {
  const byInvite = finishedByInvite(responses);
  const suspects = [...byInvite].filter(([id, list]) => list.length > 1 || !newlyCompleted.has(id));
  if (suspects.length === 0) return 0;
  const completed = await findCompletedInvites(
    ctx.store,
    survey.key,
    suspects.map(([id]) => id),
  );
  const found: DuplicateResponse[] = [];
  for (const invite of completed) {
    const signed = signedValues(invite);
    if (signed === null) continue; // purged: nothing left to stamp it with
    for (const response of byInvite.get(invite.id) ?? []) {
      if (response.responseId === invite.response_id) continue;
      const check = await checkResponse(ctx.config, survey, signed, response.embeddedData);
      const tampered = check.tampered ? 1 : 0;
      found.push({ responseId: response.responseId, inviteId: invite.id, tampered });
    }
  }
  return recordDuplicates(ctx.store, survey.key, found, ctx.now());
}

/**
 * Finished responses that name an invite of this survey still waiting, first response wins, each
 * checked against the issued values; `withoutSig` names the invites whose response had no `sig`,
 * `missingFields` the issued fields each invite's response lacks (when it lacks any).
 */
async function matchResponses(
  config: Config,
  store: Store,
  survey: Survey,
  responses: ExportedResponse[],
  now: number,
): Promise<{
  completions: Completion[];
  withoutSig: Set<string>;
  missingFields: Map<string, string[]>;
  /** Each invite's customer id (null once purged), for the contact rules. */
  customers: Map<string, string | null>;
  /** Responses naming an invite the ledger does not hold (removed after retention, or never). */
  unmatched: number;
}> {
  const byInvite = new Map<string, { response: ExportedResponse; at: number }>();
  for (const [inv, list] of finishedByInvite(responses)) {
    for (const response of list) {
      const recorded = response.recordedDate ? Date.parse(response.recordedDate) : Number.NaN;
      const at = Number.isNaN(recorded) ? now : recorded;
      const seen = byInvite.get(inv);
      if (!seen || at < seen.at) byInvite.set(inv, { response, at });
    }
  }
  const known = await findInvitesAwaitingCompletion(store, survey.key, [...byInvite.keys()]);
  const rows = known.filter((row) => row.completed === 0);
  const withoutSig = new Set<string>();
  const missingFields = new Map<string, string[]>();
  const customers = new Map(rows.map((row) => [row.id, row.customer_ref]));
  const completions = await Promise.all(
    rows.map(async (row): Promise<Completion> => {
      const match = byInvite.get(row.id);
      if (!match) throw new Error("unreachable: rows are looked up by these ids");
      const { responseId, embeddedData } = match.response;
      const signed = signedValues(row);
      if (signed === null) return { id: row.id, responseId, at: match.at, tampered: null };
      const check = await checkResponse(config, survey, signed, embeddedData);
      if (check.sigMissing) withoutSig.add(row.id);
      if (check.missingFields.length > 0) missingFields.set(row.id, check.missingFields);
      return { id: row.id, responseId, at: match.at, tampered: check.tampered ? 1 : 0 };
    }),
  );
  return {
    completions,
    withoutSig,
    missingFields,
    customers,
    unmatched: byInvite.size - known.length,
  };
}

/** The completions newly recorded, for the contact rules that count completions. */
async function countForContactRules(
  ctx: RunContext,
  found: { completions: Completion[]; customers: Map<string, string | null> },
  newly: ReadonlySet<string>,
): Promise<void> {
  const activity = found.completions.flatMap((c) => {
    const customerId = found.customers.get(c.id);
    return newly.has(c.id) && customerId ? [{ customerId, inviteId: c.id, at: c.at }] : [];
  });
  if (activity.length === 0) return;
  const { everServed } = await placementCounts(ctx.store, ctx.config);
  await recordContactActivity(ctx.store, ctx.config, everServed, "completed", activity);
}
