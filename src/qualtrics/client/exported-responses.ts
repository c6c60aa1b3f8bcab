/**
 * Reading a JSON response export. Where Qualtrics puts embedded data (inside `values` or beside
 * it) is not settled, so both are read; `values` wins a conflict. The file is the raw file, not an
 * envelope, and unknown keys are kept: they may be embedded data.
 */
import { z } from "zod";

export const exportFileSchema = z.object({
  responses: z.array(
    z.looseObject({
      responseId: z.string().min(1),
      values: z.record(z.string(), z.unknown()).default({}),
    }),
  ),
});

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
/** Fields Qualtrics itself puts in `values`; anything else there is an answer or embedded data. */
const BUILTIN_VALUE_KEYS = new Set([
  "startDate",
  "endDate",
  "status",
  "ipAddress",
  "progress",
  "duration",
  "finished",
  "recordedDate",
  "_recordedDate",
  "locationLatitude",
  "locationLongitude",
  "distributionChannel",
  "userLanguage",
  "recipientLastName",
  "recipientFirstName",
  "recipientEmail",
  "externalDataReference",
]);

function toEmbeddedString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * Merge embedded data from inside `values` and from beside it. With `embeddedDataIds` only those
 * keys are read; without, every key beside `values` plus non-builtin, non-question keys inside it.
 */
export function exportedResponse(
  raw: z.infer<typeof exportFileSchema>["responses"][number],
  embeddedDataIds: readonly string[] | undefined,
): ExportedResponse {
  const beside: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw))
    if (!STRUCTURAL_KEYS.has(key)) beside[key] = value;
  const values: Record<string, unknown> = { ...beside, ...raw.values };
  const candidates = embeddedDataIds
    ? embeddedDataIds
    : [
        ...Object.keys(beside),
        ...Object.keys(raw.values).filter((k) => !BUILTIN_VALUE_KEYS.has(k) && !/^QID\d/.test(k)),
      ];
  const embeddedData: Record<string, string> = {};
  for (const key of candidates) {
    const text = toEmbeddedString(values[key]);
    if (text !== undefined) embeddedData[key] = text;
  }
  const finished = values.finished;
  const recorded = values.recordedDate;
  return {
    responseId: raw.responseId,
    finished: finished === 1 || finished === true || finished === "1" || finished === "true",
    recordedDate: typeof recorded === "string" ? recorded : undefined,
    embeddedData,
  };
}
