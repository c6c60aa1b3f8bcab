/** An invite's lifecycle status, derived from its ledger row (never stored, so never stale). */
import type { InviteRow } from "../ledger/invites";

export type LinkStatus = "issued" | "opened" | "expired" | "revoked";

export function linkStatus(
  row: Pick<InviteRow, "revoked_at" | "consumed_at" | "expires_at">,
  now: number,
): LinkStatus {
  if (row.revoked_at !== null) return "revoked";
  if (row.consumed_at !== null) return "opened";
  if (row.expires_at <= now) return "expired";
  return "issued";
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
