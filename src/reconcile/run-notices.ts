/**
 * Notices: what a reconcile run found that is not an error but needs someone to act, typically a
 * survey owner. Stored with the run as `{survey, code, responses}`; the message is written here,
 * from the code, when the run is shown or logged. Notices name surveys and counts, never people.
 */
import { z } from "zod";

export const NOTICE_CODES = ["sig_missing", "field_missing", "budget_reached"] as const;

const storedNotices = z.array(
  z.object({
    /** The survey's key in SURVEYS ("" for a notice about the run itself). */
    survey: z.string(),
    code: z.enum(NOTICE_CODES),
    /** Responses of this run the notice is about. */
    responses: z.number().int(),
    /** field_missing: the embedded-data fields those responses lack, sorted. */
    fields: z.array(z.string()).optional(),
  }),
);

export type RunNotice = z.infer<typeof storedNotices>[number];

/** What the notice means and what to do, for the survey's owner. */
export function noticeMessage(notice: RunNotice): string {
  switch (notice.code) {
    case "budget_reached":
      return (
        "The run reached its share of one invocation's storage calls and stopped between two " +
        "steps; the next run continues where it stopped. If every run says so, run the Cron " +
        "Trigger more often (docs/capacity.md)."
      );
    case "sig_missing":
      return (
        `${notice.responses} response(s) of survey "${notice.survey}" carry no sig, so their ` +
        "signature could not be checked (their values were still compared with the issued ones). " +
        "Declare the embedded-data field sig in the survey flow, next to inv, so that responses " +
        "record it."
      );
    case "field_missing": {
      const fields = notice.fields?.join(", ") ?? "";
      return (
        `${notice.responses} response(s) of survey "${notice.survey}" lack embedded-data ` +
        `field(s) that invite-edge issued: ${fields}. They are not flagged as tampered, and the ` +
        "stamp writes the issued values on them. Declare each of these fields as embedded data " +
        "in the survey flow (in web-service mode: map it from the Web Service element's response) " +
        "so that responses record them."
      );
    }
  }
}

/** The stored form: a JSON array, or null when the run has none. */
export function serialiseNotices(notices: readonly RunNotice[]): string | null {
  return notices.length === 0 ? null : JSON.stringify(notices);
}

/** Notices from their stored form; an unreadable value reads as none rather than as something wrong. */
export function parseNotices(stored: string | null): RunNotice[] {
  if (stored === null) return [];
  try {
    const parsed = storedNotices.safeParse(JSON.parse(stored));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
