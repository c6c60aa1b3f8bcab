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
function toEmbeddedString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** Merge embedded data from inside `values` and from beside it; only `embeddedDataIds` are read. */
export function exportedResponse(
  raw: z.infer<typeof exportFileSchema>["responses"][number],
  embeddedDataIds: readonly string[],
): ExportedResponse {
  const beside: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw))
    if (!STRUCTURAL_KEYS.has(key)) beside[key] = value;
  const values: Record<string, unknown> = { ...beside, ...raw.values };
  const embeddedData: Record<string, string> = {};
  for (const key of embeddedDataIds) {
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
