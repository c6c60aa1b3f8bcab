/**
 * Who gets an `invite.reminder_due`: an invite whose survey's `reminderAfterMinutes` have passed
 * since issue and that is still waiting for its customer: neither opened nor completed, revoked
 * nor expired, and with its data still there. The sweep considers each invite once (its
 * position moves past it whatever the answer), so none ever gets a second reminder event.
 */
import type { InviteEventRow } from "./events";

/** Why an invite gets no reminder, or null when it is due one. */
type ReminderExclusion = "opened" | "completed" | "revoked" | "expired" | "gone";

export function reminderExclusion(row: InviteEventRow, now: number): ReminderExclusion | null {
  if (row.gone) return "gone";
  if (row.completed_at !== null) return "completed";
  if (row.consumed_at !== null) return "opened";
  if (row.revoked_at !== null) return "revoked";
  if (row.expires_at <= now) return "expired";
  return null;
}

/** When the reminder of an invite issued at `issuedAt` is due. */
export const reminderDueAt = (issuedAt: number, minutes: number): number =>
  issuedAt + minutes * 60_000;
