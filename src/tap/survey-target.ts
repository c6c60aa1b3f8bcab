/**
 * Where a claimed invite lands: the survey link rebuilt from the row's values and checked against
 * the signature issued with them (`sig`); for links issued while the ledger kept whole tokens,
 * the token verified (the algorithms, issuer, audience, `jti`, expiry and key pinned); for links
 * issued before tokens moved into the ledger, the row's values signed again. Values or a token
 * that do not verify (storage edited) never lead anywhere, and are logged.
 */
import type { Config } from "../config/config";
import { log } from "../core/log";
import { inviteValues, linkValueSourceFromRow, surveyRedirectUrl } from "../links";
import type { InviteRow } from "../store/invite-rows";
import { type VerifiedInvite, verifyInviteToken } from "../tokens/invite-token";
import { signLinkValues, verifyLinkValues } from "../tokens/link-signature";

/** The token's `exp` is whole seconds; the ledger's expiry (ms) is what decides. */
const TOKEN_CLOCK_TOLERANCE_SECONDS = 1;

/**
 * The invite a redirect is built from: its values rebuilt from the row with their issued `sig`
 * (checked), or its signed token verified, or for links issued before tokens moved into the
 * ledger its values signed again. Null when the signature or token does not verify (it is
 * logged) or the values are gone (purged).
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
  const values = inviteValues(row.id, source);
  if (row.sig !== null && !(await verifyLinkValues(config, values, row.sig))) {
    log("token_rejected", { requestId, inviteId: row.id });
    return null;
  }
  return {
    ...source,
    id: row.id,
    survey: row.survey,
    expiresAt: row.expires_at,
    ...(row.channel ? { channel: row.channel } : {}),
    ...(row.language ? { language: row.language } : {}),
    sig: row.sig ?? (await signLinkValues(config, values)),
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
