/** Which failures get `503` + `Retry-After` (transient store trouble) and which a `500`. */
import { describe, expect, it } from "vitest";
import { isTransientStoreFailure } from "../../src/store/failures";

describe("isTransientStoreFailure", () => {
  it.each([
    "D1_ERROR: Network connection lost.",
    "D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset.",
    "D1_ERROR: D1 DB reset because its code was updated.",
    "D1_ERROR: Cannot resolve D1 DB due to transient issue on remote node.",
    "D1_ERROR: D1 DB is overloaded. Too many requests queued.",
    "D1_ERROR: D1 DB is overloaded. Requests queued for too long.",
    "D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.",
    "KV GET failed: 503 Service Unavailable",
    "KV PUT failed: 429 Too Many Requests",
    "KV GET_WITH_METADATA failed: 500 Internal Server Error",
  ])("transient: %s", (message) => {
    expect(isTransientStoreFailure(new Error(message))).toBe(true);
  });

  it.each([
    "D1_ERROR: no such table: invites: SQLITE_ERROR",
    "D1_ERROR: UNIQUE constraint failed: invites.id: SQLITE_CONSTRAINT",
    "D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'",
    "KV PUT failed: 400 Bad Request",
    "KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.",
    "Cannot read properties of undefined (reading 'survey')",
    "Unexpected token < in JSON at position 0",
  ])("not transient: %s", (message) => {
    expect(isTransientStoreFailure(new Error(message))).toBe(false);
  });

  it("looks through the cause chain and at the runtime's retryable / overloaded marks", () => {
    const wrapped = new Error("query failed", {
      cause: new Error("D1_ERROR: Network connection lost."),
    });
    expect(isTransientStoreFailure(wrapped)).toBe(true);
    expect(isTransientStoreFailure(Object.assign(new Error("reset"), { retryable: true }))).toBe(
      true,
    );
    expect(isTransientStoreFailure(Object.assign(new Error("busy"), { overloaded: true }))).toBe(
      true,
    );
    expect(isTransientStoreFailure(Object.assign(new Error("bug"), { retryable: false }))).toBe(
      false,
    );
    expect(isTransientStoreFailure("a thrown string")).toBe(false);
    expect(isTransientStoreFailure(undefined)).toBe(false);
  });
});
