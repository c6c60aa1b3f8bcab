/**
 * What an export's responses complete: a finished response whose `inv` names an invite of the
 * survey still waiting completes it, once (first response wins), checked against the values
 * invite-edge signed. Responses arrive in batches as the file downloads; each batch is recorded in
 * the invites' shards at once, and what the run reports (completions, tampered, notices) adds up
 * over the batches. Recording is idempotent, so a batch read twice changes nothing.
 */
import type { Config, Survey } from "../config/config";
import { inviteValues, linkValueSourceFromRow } from "../links";
import type { ExportedResponse } from "../qualtrics/exported-responses";
import type { Store } from "../store/store";
import { isInviteId } from "../tokens/ids";
import type { RunContext } from "./run-context";
import type { AwaitingInvite, Completion } from "./storage/completion-rows";
import { findInvitesAwaitingCompletion, recordCompletions } from "./storage/completions";
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
  /** Responses naming an invite the ledger does not hold (removed after retention, or never). */
  unmatched: number;
}> {
  const byInvite = new Map<string, { response: ExportedResponse; at: number }>();
  for (const response of responses) {
    const inv = response.embeddedData.inv;
    if (!response.finished || inv === undefined || !isInviteId(inv)) continue;
    const recorded = response.recordedDate ? Date.parse(response.recordedDate) : Number.NaN;
    const at = Number.isNaN(recorded) ? now : recorded;
    const seen = byInvite.get(inv);
    if (!seen || at < seen.at) byInvite.set(inv, { response, at });
  }
  const known = await findInvitesAwaitingCompletion(store, survey.key, [...byInvite.keys()]);
  const rows = known.filter((row) => row.completed === 0);
  const withoutSig = new Set<string>();
  const missingFields = new Map<string, string[]>();
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
  return { completions, withoutSig, missingFields, unmatched: byInvite.size - known.length };
}
