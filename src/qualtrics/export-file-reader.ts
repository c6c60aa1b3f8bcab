/**
 * Reading a JSON response export as it arrives, without ever holding the file: the bytes are
 * scanned for the `responses` array of the top-level object, and each of its elements is parsed
 * alone once its closing brace arrives. At any moment the reader holds one chunk of the body and
 * the part of one response that chunk left unfinished, plus up to `batchSize` read responses
 * (only the fields reconcile uses), handed on in batches.
 *
 * Scanning bytes is safe: JSON's structural characters are ASCII, and no byte of a multi-byte
 * UTF-8 sequence is below 0x80.
 */
import type { ChunkReader } from "./http";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const RESPONSES_KEY = new TextEncoder().encode("responses");
/** What may stand between two responses of the array: whitespace, commas, the next `{`, the end. */
const BETWEEN_ELEMENTS = new Uint8Array(256);
for (const byte of [0x20, 0x09, 0x0a, 0x0d, 0x2c, OPEN_OBJECT, CLOSE_ARRAY])
  BETWEEN_ELEMENTS[byte] = 1;

/** The file is not the JSON object with a `responses` array an export must be. */
export class ExportFileError extends Error {
  override readonly name = "ExportFileError";
}

/** Where the reader's buffering stands, for whoever wants to watch it (a test, a log line). */
export interface ReadMeter {
  /** The most bytes held at once: the chunk in hand plus an unfinished response. */
  peakBufferedBytes: number;
  bytesRead: number;
}

/**
 * Reads every element of the export's `responses` array, handing them to `onBatch` as `parse`
 * turns them into `T`, at most `batchSize` at a time. Returns how many elements were read.
 *
 * @example await readExportFile(read, (raw) => raw, async (batch) => save(batch), 1000)
 */
export async function readExportFile<T>(
  read: ChunkReader,
  parse: (element: unknown) => T,
  onBatch: (batch: T[]) => Promise<void>,
  batchSize: number,
  meter: ReadMeter = { peakBufferedBytes: 0, bytesRead: 0 },
): Promise<number> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** The string being read at depth 1, a key of the top-level object (null once too long). */
  let key: number[] | null = null;
  let keyIsResponses = false;
  let inResponses = false;
  let sawResponses = false;
  /** Pieces of the unfinished element carried over from earlier chunks, and their size. */
  let carried: Uint8Array[] = [];
  let carriedBytes = 0;
  let inElement = false;
  let batch: T[] = [];
  let count = 0;

  /** Parses one whole element; true when the batch is full. */
  const finishElement = (bytes: Uint8Array): boolean => {
    let element: unknown;
    try {
      element = JSON.parse(decoder.decode(bytes));
    } catch {
      throw new ExportFileError(`response ${count} of the export is not valid JSON`);
    }
    batch.push(parse(element));
    count += 1;
    return batch.length >= batchSize;
  };

  for (let chunk = await read(); chunk !== undefined; chunk = await read()) {
    meter.bytesRead += chunk.length;
    meter.peakBufferedBytes = Math.max(meter.peakBufferedBytes, chunk.length + carriedBytes);
    /** Where the element being read starts in this chunk (0 when it began in an earlier one). */
    let elementStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) {
          inString = false;
          keyIsResponses = key !== null && sameBytes(key, RESPONSES_KEY);
        } else if (key !== null) {
          key = key.length < RESPONSES_KEY.length ? [...key, byte] : null;
        }
        continue;
      }
      if (inResponses && depth === 2 && BETWEEN_ELEMENTS[byte] === 0) {
        throw new ExportFileError("a response is not an object");
      }
      if (byte === QUOTE) {
        inString = true;
        key = depth === 1 ? [] : null;
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        if (depth === 1 && byte === OPEN_ARRAY && keyIsResponses) {
          inResponses = true;
          sawResponses = true;
        } else if (inResponses && depth === 2) {
          inElement = true;
          elementStart = i;
        }
        keyIsResponses = false;
        depth += 1;
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        depth -= 1;
        if (depth < 0) throw new ExportFileError("the export has unbalanced brackets");
        if (inElement && depth === 2) {
          const tail = chunk.subarray(elementStart, i + 1);
          const whole = carriedBytes === 0 ? tail : concat([...carried, tail]);
          carried = [];
          carriedBytes = 0;
          inElement = false;
          if (finishElement(whole)) {
            const full = batch;
            batch = [];
            await onBatch(full);
          }
        } else if (inResponses && depth === 1) inResponses = false;
      }
    }
    if (inElement) {
      // Copied, so that the chunk itself can go: only the unfinished element stays.
      const rest = chunk.slice(elementStart);
      carried.push(rest);
      carriedBytes += rest.length;
    }
  }
  if (depth !== 0 || inString) throw new ExportFileError("the export ends before its last bracket");
  if (!sawResponses) throw new ExportFileError("the export has no responses array");
  if (batch.length > 0) await onBatch(batch);
  return count;
}

function sameBytes(a: readonly number[], b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
