/**
 * Invites Qualtrics refused during a run, in one shape for every phase: `{inviteId, phase,
 * reason}`. A run record lists at most `MAX_REFUSALS_LISTED` of them, with the count of all, so a
 * run that meets a thousand refusals stays readable. Refusals name invites, never customers, and
 * only their count reaches the log.
 */
import { z } from "zod";
import { readStoredList, storedList } from "./stored-json";

/** Where an invite was refused: pushing it to XM Directory, or stamping its response. */
export const REFUSAL_PHASES = ["push", "stamp"] as const;
type RefusalPhase = (typeof REFUSAL_PHASES)[number];

interface Refusal {
  inviteId: string;
  phase: RefusalPhase;
  /** Qualtrics' own words when it gave any. */
  reason: string;
}

export const MAX_REFUSALS_LISTED = 100;
/** What a refusal says when Qualtrics only listed the contact as unprocessed. */
export const NO_REASON_GIVEN = "unprocessed, no reason given";
/** Reasons are Qualtrics' messages: kept short. */
const MAX_REASON_LENGTH = 300;

const storedRefusals = z.array(
  z.object({ inviteId: z.string(), phase: z.enum(REFUSAL_PHASES), reason: z.string() }),
);

/** The refusals of one run: the first `MAX_REFUSALS_LISTED` kept, all counted. */
export class RefusalList {
  readonly listed: Refusal[] = [];
  count = 0;

  add(refusal: Refusal): void {
    this.count += 1;
    if (this.listed.length < MAX_REFUSALS_LISTED) {
      this.listed.push({ ...refusal, reason: refusal.reason.slice(0, MAX_REASON_LENGTH) });
    }
  }

  /** The stored form: a JSON array, or null when the run has none. */
  serialise(): string | null {
    return storedList(this.listed);
  }
}

/** Refusals from their stored form; an unreadable value reads as none. */
export const parseRefusals = (stored: string | null): Refusal[] =>
  readStoredList(storedRefusals, stored);
