/**
 * Qualtrics' size limits on the two bulk writes, and splitting work to fit them: a
 * transactioncontacts import takes at most 10,000 contacts and under 5 MB of JSON; an
 * update-responses job at most 250,000 updates and under 5 MB; an embedded-data value at most
 * 1,000 characters. Sizes are measured on the exact body the client sends. A body over a limit is
 * refused here, before it costs a call.
 */
import {
  importBody,
  type ResponseUpdate,
  type TransactionContact,
  type TransactionImportInput,
  updateBody,
} from "./bodies";
import { QualtricsError } from "./errors";

/** "5 MB of JSON" read strictly as 5,000,000 bytes, so a body we send is under every reading. */
export const MAX_REQUEST_BYTES = 5_000_000;
export const MAX_CONTACTS_PER_IMPORT = 10_000;
export const MAX_UPDATES_PER_JOB = 250_000;
/**
 * Characters (Unicode code points) Qualtrics keeps per embedded-data value: 1,000 in one copy of
 * its documentation, 5,000 in another; the smaller is the one that is safe.
 */
export const MAX_EMBEDDED_VALUE_LENGTH = 1000;

/** A value cut to at most `MAX_EMBEDDED_VALUE_LENGTH` code points (never inside a surrogate pair). */
export function withinValueLimit(value: string): { value: string; truncated: boolean } {
  // Code points are at most 2 code units: a short string needs no counting.
  if (value.length <= MAX_EMBEDDED_VALUE_LENGTH) return { value, truncated: false };
  const points = [...value];
  if (points.length <= MAX_EMBEDDED_VALUE_LENGTH) return { value, truncated: false };
  return { value: points.slice(0, MAX_EMBEDDED_VALUE_LENGTH).join(""), truncated: true };
}

/** UTF-8 length of a string without allocating its encoding (chunking measures every contact). */
function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

const jsonBytes = (value: unknown) => utf8ByteLength(JSON.stringify(value));

interface ChunkLimits {
  maxItems: number;
  /** Every chunk's JSON body is strictly smaller than this. */
  maxBytes: number;
  /** Bytes of the body around the array: `{"meta":…,"items":[]}`. */
  overheadBytes: number;
}

/**
 * Split items so that each chunk, serialised as a JSON array inside a body of `overheadBytes`,
 * stays under both limits. Order is kept. An item too large to fit alone is a RangeError.
 */
function chunkByLimits<T>(items: readonly T[], limits: ChunkLimits): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = limits.overheadBytes;
  items.forEach((item, index) => {
    const size = jsonBytes(item);
    if (limits.overheadBytes + size >= limits.maxBytes) {
      throw new RangeError(
        `item ${index} alone is ${size} bytes of JSON: over the ${limits.maxBytes}-byte limit`,
      );
    }
    // A comma separates it from the previous item of the same chunk.
    const added = current.length === 0 ? size : size + 1;
    if (current.length >= limits.maxItems || bytes + added >= limits.maxBytes) {
      chunks.push(current);
      current = [];
      bytes = limits.overheadBytes + size;
    } else bytes += added;
    current.push(item);
  });
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A batch id longer than Qualtrics' (`BT_` + 15) so the estimate never undershoots. */
const BATCH_ID_PLACEHOLDER = "BT_".padEnd(64, "x");

/**
 * Split contacts into imports of ≤10,000 contacts and <5 MB of JSON each, measured on the exact
 * body `importTransactionContacts` sends with these `fields`.
 */
export function chunkTransactionContacts(
  contacts: readonly TransactionContact[],
  options: { fields: string[] },
): TransactionContact[][] {
  const empty = importBody({ batchId: BATCH_ID_PLACEHOLDER, fields: options.fields, contacts: [] });
  return chunkByLimits(contacts, {
    maxItems: MAX_CONTACTS_PER_IMPORT,
    maxBytes: MAX_REQUEST_BYTES,
    overheadBytes: jsonBytes(empty),
  });
}

/** Split response updates into jobs of ≤250,000 updates and <5 MB of JSON each. */
export function chunkResponseUpdates(updates: readonly ResponseUpdate[]): ResponseUpdate[][] {
  return chunkByLimits(updates, {
    maxItems: MAX_UPDATES_PER_JOB,
    maxBytes: MAX_REQUEST_BYTES,
    overheadBytes: jsonBytes(updateBody([], true)),
  });
}

function tooLarge(message: string): QualtricsError {
  return new QualtricsError({
    status: 0,
    errorCode: "request_too_large",
    message: `${message}; split it first (chunkTransactionContacts / chunkResponseUpdates)`,
    retryable: false,
    attempts: 0,
  });
}

/** The import body, or the error Qualtrics would answer with, named and free of charge. */
export function importBodyWithinLimits(input: TransactionImportInput) {
  if (input.contacts.length > MAX_CONTACTS_PER_IMPORT) {
    throw tooLarge(
      `${input.contacts.length} contacts is over ${MAX_CONTACTS_PER_IMPORT} per import`,
    );
  }
  const body = importBody(input);
  const size = jsonBytes(body);
  if (size >= MAX_REQUEST_BYTES) throw tooLarge(`import body is ${size} bytes, over 5 MB`);
  return body;
}

/** The update-responses body, or the error Qualtrics would answer with. */
export function updateBodyWithinLimits(
  updates: readonly ResponseUpdate[],
  ignoreMissingResponses: boolean,
) {
  if (updates.length > MAX_UPDATES_PER_JOB) {
    throw tooLarge(`${updates.length} updates is over ${MAX_UPDATES_PER_JOB} per job`);
  }
  const body = updateBody(updates, ignoreMissingResponses);
  const size = jsonBytes(body);
  if (size >= MAX_REQUEST_BYTES) throw tooLarge(`update body is ${size} bytes, over 5 MB`);
  return body;
}
