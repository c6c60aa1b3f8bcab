/**
 * Notices: what a reconcile run found that is not an error but needs someone to act, a survey
 * owner or a Qualtrics admin. Stored with the run as `{survey, code, …counts}`; the message is
 * written here, from the code, when the run is shown or logged. Notices name surveys and counts,
 * never people; Qualtrics' own messages (`messages`) are shown in the API, never logged.
 */
import { z } from "zod";
import { MAX_EMBEDDED_VALUE_LENGTH } from "../qualtrics/chunking";
import { readStoredList, storedList } from "./stored-json";

export const NOTICE_CODES = [
  "sig_missing",
  "field_missing",
  "value_truncated",
  "dedup_off",
  "stamp_job_messages",
  "budget_reached",
  "duplicate_responses",
  "unmatched",
] as const;

const storedNotices = z.array(
  z.object({
    /** The survey's key in SURVEYS; null for a notice about the directory or the run itself. */
    survey: z.string().nullable(),
    code: z.enum(NOTICE_CODES),
    /** Responses of this run the notice is about (survey notices). */
    responses: z.number().int().optional(),
    /** dedup_off: customers pushed before that came back as new contacts. */
    contacts: z.number().int().optional(),
    /** field_missing, value_truncated: the embedded-data fields concerned, sorted. */
    fields: z.array(z.string()).optional(),
    /** stamp_job_messages: errors and warnings Qualtrics reported, and a few of their texts. */
    errors: z.number().int().optional(),
    warnings: z.number().int().optional(),
    messages: z.array(z.string()).optional(),
  }),
);

export type RunNotice = z.infer<typeof storedNotices>[number];

/** What the notice means and what to do, for the survey's owner or the directory's admin. */
export function noticeMessage(notice: RunNotice): string {
  const survey = `survey "${notice.survey ?? ""}"`;
  const responses = `${notice.responses ?? 0} response(s) of ${survey}`;
  const fields = notice.fields?.join(", ") ?? "";
  switch (notice.code) {
    case "budget_reached":
      return (
        "The run reached its share of one invocation's storage calls and stopped between two " +
        "steps; the next run continues where it stopped. If every run says so, run the Cron " +
        "Trigger more often (docs/capacity.md)."
      );
    case "unmatched":
      return (
        `${responses} name an invite the ledger does not hold: its row was removed after ` +
        "RETENTION_DAYS (the response came after the completion window), or the link was " +
        "never issued for this survey. They complete nothing and are not stamped."
      );
    case "sig_missing":
      return (
        `${responses} carry no sig, so their signature could not be checked (their values were ` +
        "still compared with the issued ones). Declare the embedded-data field sig in the " +
        "survey flow, next to inv, so that responses record it."
      );
    case "field_missing":
      return (
        `${responses} lack embedded-data field(s) that invite-edge issued: ${fields}. They are ` +
        "not flagged as tampered, and the stamp writes the issued values on them. Declare each " +
        "of these fields as embedded data in the survey flow (in web-service mode: map it from " +
        "the Web Service element's response) so that responses record them."
      );
    case "value_truncated":
      return (
        `${responses} were stamped with value(s) of ${fields} cut to ` +
        `${MAX_EMBEDDED_VALUE_LENGTH} characters, the most Qualtrics keeps per value. Their links ` +
        "were issued before invite-edge refused longer values; the ledger keeps the whole values."
      );
    case "dedup_off":
      return (
        `${notice.contacts ?? 0} customer(s) pushed before came back from an import as new ` +
        "contacts: XM Directory is not deduplicating on External Data Reference, so every " +
        "invite creates another contact. Turn on automatic deduplication on External Data " +
        "Reference in the directory's settings (docs/deploy.md)."
      );
    case "duplicate_responses":
      return (
        `${responses} answered an invite that an earlier response had already completed (the ` +
        "customer answered twice). They do not count as completions; each is stamped " +
        'invite_duplicate = "1" (the first response "0") so that reports can leave them out.'
      );
    case "stamp_job_messages":
      return (
        `Qualtrics reported ${notice.errors ?? 0} error(s) and ${notice.warnings ?? 0} ` +
        `warning(s) on update-responses jobs of ${survey}; their texts are in this notice in ` +
        "GET /v1/reconcile/runs. Errors naming a response refuse its stamp (see refused)."
      );
  }
}

/** The stored form: a JSON array, or null when the run has none. */
export const serialiseNotices = (notices: readonly RunNotice[]): string | null =>
  storedList(notices);

/** Notices from their stored form; an unreadable value reads as none rather than as something wrong. */
export const parseNotices = (stored: string | null): RunNotice[] =>
  readStoredList(storedNotices, stored);
