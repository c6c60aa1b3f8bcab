/**
 * Where a claimed invite lands: the survey link built from its signed token, verified (the
 * algorithms, issuer, audience, `jti`, expiry and key pinned), or, for links issued before tokens
 * moved into the ledger, from its values rebuilt from the row and signed again. A token that does
 * not verify never leads anywhere, and is logged.
 */
import type { Config } from "../config/config";
import { log } from "../core/log";
import { inviteValues, linkValueSourceFromRow, surveyRedirectUrl } from "../links";
import type { InviteRow } from "../store/invite-rows";
import { type VerifiedInvite, verifyInviteToken } from "../tokens/invite-token";
import { signLinkValues } from "../tokens/link-signature";

/** The token's `exp` is whole seconds; the ledger's expiry (ms) is what decides. */
const TOKEN_CLOCK_TOLERANCE_SECONDS = 1;

/**
 * The invite a redirect is built from: its signed token verified, or for links issued before
 * tokens moved into the ledger, its values rebuilt from the row and signed again. Null when the
 * token does not verify (it is logged) or the values are gone (purged).
 */
async function inviteOf(
  config: Config,
  row: InviteRow,
  requestId: string,
): Promise<VerifiedInvite | null> {
  if (row.token !== null) {
    const verified = await verifyInviteToken(config, row.id, row.token, {
      clockTolerance: TOKEN_CLOCK_TOLERANCE_SECONDS,
    });
    if (verified.ok) return verified.invite;
    log("token_rejected", { requestId, inviteId: row.id });
    return null;
  }
  const source = linkValueSourceFromRow(row);
  if (!source) return null;
  return {
    ...source,
    id: row.id,
    survey: row.survey,
    expiresAt: row.expires_at,
    ...(row.channel ? { channel: row.channel } : {}),
    ...(row.language ? { language: row.language } : {}),
    sig: await signLinkValues(config, inviteValues(row.id, source)),
  };
}

/** Where the survey of a claimed invite lands, or null when it cannot be trusted or configured. */
export async function surveyTargetOf(
  config: Config,
  row: InviteRow,
  requestId: string,
): Promise<{ url: string; expiresAt: number } | null> {
  const invite = await inviteOf(config, row, requestId);
  const survey = invite && config.surveys.get(invite.survey);
  if (!invite || !survey) return null;
  return { url: surveyRedirectUrl(survey, row.id, invite), expiresAt: invite.expiresAt };
}
