/**
 * Structured logs, one JSON line per event. Callers pass only operational fields (ids of
 * invites, requests and API keys, outcomes, timings): never customer ids, embedded data,
 * tokens, API keys or secrets. `log` drops values under names that look like those, as a guard.
 */
type Field = string | number | boolean | null | undefined;

const FORBIDDEN = /token|secret|password|authorization|customer|embedded|cookie|^key$/i;

/** An error's message for a log line (never its stack: stacks can quote values). */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function log(event: string, fields: Record<string, Field> = {}): void {
  const line: Record<string, Field> = { event, at: new Date().toISOString() };
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && !FORBIDDEN.test(name)) line[name] = value;
  }
  console.log(JSON.stringify(line));
}
