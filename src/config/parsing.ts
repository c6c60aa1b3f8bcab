/**
 * What every settings parser shares: a collector of problems, each naming its variable by path
 * (`SURVEYS.demo.url`, `BRAND.color`), so one deploy shows them all; and host lists.
 */
import { z } from "zod";

/** Collects every configuration problem, so one deploy shows them all. */
export class Problems {
  readonly list: string[] = [];

  add(problem: string): void {
    this.list.push(problem);
  }

  /** `value` parsed with `schema` (a JSON string or an already decoded [vars] table). */
  parse<T>(variable: string, schema: z.ZodType<T>, value: unknown): T | undefined {
    let decoded = value;
    if (typeof value === "string") {
      try {
        decoded = JSON.parse(value);
      } catch {
        this.add(`${variable} is not valid JSON`);
        return undefined;
      }
    }
    const result = schema.safeParse(decoded);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      this.add(`${[variable, ...issue.path.map(String)].join(".")}: ${issue.message}`);
    }
    return undefined;
  }

  required(variable: string, value: string | undefined): string {
    if (!value) this.add(`${variable} is not set`);
    return value ?? "";
  }
}

/** A list of hosts: comma-separated, or a JSON array (a string or a [vars] array). */
export function parseHostList(
  problems: Problems,
  variable: string,
  value: string | string[] | undefined,
): string[] {
  if (value === undefined || value === "") return [];
  if (Array.isArray(value)) return value.map(String);
  const trimmed = value.trim();
  if (trimmed.startsWith("[")) return problems.parse(variable, z.array(z.string()), value) ?? [];
  return trimmed
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
}
