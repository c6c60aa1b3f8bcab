/**
 * The JSON columns of run records (notices, refusals): written by the run, read back for the API
 * and the log. A stored value that no longer reads (an older shape, a hand edit) reads as empty
 * rather than failing the whole list of runs.
 */
import type { z } from "zod";

export function readStoredList<T>(schema: z.ZodType<T[]>, stored: string | null): T[] {
  if (stored === null) return [];
  try {
    const parsed = schema.safeParse(JSON.parse(stored));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** The stored form of a list: a JSON array, or null when it is empty. */
export const storedList = (items: readonly unknown[]): string | null =>
  items.length === 0 ? null : JSON.stringify(items);
