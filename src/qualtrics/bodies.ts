/**
 * The request bodies the client sends, built in one place so that chunking measures exactly what
 * goes on the wire. Dates in XM Directory bodies are UTC `YYYY-MM-DD HH:MM:SS`; anything else is
 * refused by Qualtrics.
 */

export interface TransactionContact {
  /** The caller's stable id for the person; Qualtrics dedups on it. */
  extRef: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  language?: string;
  unsubscribed?: boolean;
  embeddedData?: Record<string, string>;
  /** Keys must be listed in the import's `fields`. */
  transactionData: Record<string, string>;
}

export interface TransactionImportInput {
  batchId: string;
  fields: string[];
  contacts: TransactionContact[];
}

export type ResponseExportStart =
  | { continuationToken: string; startDate?: never; embeddedDataIds?: string[] }
  | { startDate?: string | Date; continuationToken?: never; embeddedDataIds?: string[] };

export interface ResponseUpdate {
  responseId: string;
  embeddedData: Record<string, string>;
  resetRecordedDate?: boolean;
}

/**
 * A date as XM Directory bodies want it: UTC, `YYYY-MM-DD HH:MM:SS`.
 *
 * @example toQualtricsDate(new Date("2026-11-28T10:00:00.123Z")) // "2026-11-28 10:00:00"
 */
export function toQualtricsDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("toQualtricsDate: invalid Date");
  return date.toISOString().slice(0, 19).replace("T", " ");
}

export function batchBody(creationDate: Date) {
  return { transactionIds: [], creationDate: toQualtricsDate(creationDate) };
}

export function importBody(input: TransactionImportInput) {
  return {
    transactionMeta: { batchId: input.batchId, fields: input.fields },
    contacts: input.contacts,
  };
}

/** The response metadata an export carries: what `exportedResponse` reads, nothing more. */
const EXPORTED_METADATA = ["finished", "recordedDate"];

/**
 * A JSON export, uncompressed, that can be continued; from a continuation token or a date. No
 * question columns (omitting `questionIds` would mean every question) and only the metadata read.
 */
export function exportBody(start: ResponseExportStart): Record<string, unknown> {
  const body: Record<string, unknown> = {
    format: "json",
    compress: false,
    allowContinuation: true,
    exportResponsesInProgress: false,
    questionIds: [],
    surveyMetadataIds: EXPORTED_METADATA,
  };
  if (start.embeddedDataIds) body.embeddedDataIds = start.embeddedDataIds;
  if (start.continuationToken !== undefined) body.continuationToken = start.continuationToken;
  else if (start.startDate !== undefined) {
    body.startDate =
      start.startDate instanceof Date ? start.startDate.toISOString() : start.startDate;
  }
  return body;
}

export function updateBody(updates: readonly ResponseUpdate[], ignoreMissingResponses: boolean) {
  return { updates, ignoreMissingResponses };
}
