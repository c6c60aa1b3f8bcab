/**
 * One response of a JSON response export, as reconcile reads it. Where Qualtrics puts embedded
 * data (inside `values` or beside it) is not settled, so both are read; `values` wins a conflict.
 * The file is the raw file, not an envelope, and unknown keys are kept: they may be embedded data.
 */
import { ExportFileError } from "./export-file-reader";

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export interface ExportedResponse {
  responseId: string;
  finished: boolean;
  recordedDate: string | undefined;
  /** Embedded data, read from inside `values` and from beside it, as strings. */
  embeddedData: Record<string, string>;
}

/** Keys of an exported response that are its structure, not embedded data. */
const STRUCTURAL_KEYS = new Set([
  "responseId",
  "values",
  "labels",
  "displayedFields",
  "displayedValues",
]);
function toEmbeddedString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * One element of the export's `responses`: embedded data read from inside `values`, else from
 * beside it, only `embeddedDataIds`. An element without its response id is an `ExportFileError`.
 * Checked by hand rather than by a schema: an export holds tens of thousands of these.
 */
export function exportedResponse(
  element: unknown,
  embeddedDataIds: readonly string[],
): ExportedResponse {
  if (!isRecord(element) || typeof element.responseId !== "string" || !element.responseId) {
    throw new ExportFileError("a response of the export has no responseId");
  }
  const values = element.values ?? {};
  if (!isRecord(values)) throw new ExportFileError("a response's values are not an object");
  const read = (key: string): unknown => {
    if (Object.hasOwn(values, key)) return values[key];
    return !STRUCTURAL_KEYS.has(key) && Object.hasOwn(element, key) ? element[key] : undefined;
  };
  const embeddedData: Record<string, string> = {};
  for (const key of embeddedDataIds) {
    const text = toEmbeddedString(read(key));
    if (text !== undefined) embeddedData[key] = text;
  }
  const finished = read("finished");
  const recorded = read("recordedDate");
  return {
    responseId: element.responseId,
    finished: finished === 1 || finished === true || finished === "1" || finished === "true",
    recordedDate: typeof recorded === "string" ? recorded : undefined,
    embeddedData,
  };
}
