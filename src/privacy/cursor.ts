/**
 * Page cursors of the privacy API: an opaque base64url string naming the last item of a page by
 * its time and id. Neither is personal data, so a cursor carries no customer id, and the lookup
 * takes it in its JSON body anyway.
 */
import { base64url } from "../tokens/ids";

interface Position {
  at: number;
  id: string;
}

export function encodeCursor({ at, id }: Position): string {
  return base64url(new TextEncoder().encode(JSON.stringify([at, id])));
}

/** The position in `cursor`; null when it is not a cursor this API made. */
export function decodeCursor(cursor: string): Position | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return null;
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const value: unknown = JSON.parse(
      new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))),
    );
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [at, id] = value;
    if (!Number.isSafeInteger(at) || typeof id !== "string" || id.length > 128) return null;
    return { at, id };
  } catch {
    return null;
  }
}
