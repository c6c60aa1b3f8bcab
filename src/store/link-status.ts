/** An invite's lifecycle status, derived from its ledger row (never stored, so never stale). */
import type { InviteRow } from "./invite-rows";

export const LINK_STATUSES = [
  "issued",
  "opened",
  "expired",
  "revoked",
  "erased",
  "survey_removed",
] as const;
export type LinkStatus = (typeof LINK_STATUSES)[number];

/**
 * The status of a link at `now`. With `surveys` (the configured survey keys), a link that is
 * still live (unexpired: issued, or opened and still re-openable) but whose survey is no longer
 * configured is `survey_removed`: its taps answer "not found", so it must not be sent.
 */
export function linkStatus(
  row: Pick<InviteRow, "survey" | "revoked_at" | "consumed_at" | "expires_at"> & {
    erased_at?: number | null;
  },
  now: number,
  surveys?: { has(key: string): boolean },
): LinkStatus {
  // Erased on request: whatever it was, nothing about it can be used any more.
  if (row.erased_at != null) return "erased";
  if (row.revoked_at !== null) return "revoked";
  if (surveys && !surveys.has(row.survey) && row.expires_at > now) return "survey_removed";
  if (row.consumed_at !== null) return "opened";
  if (row.expires_at <= now) return "expired";
  return "issued";
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
