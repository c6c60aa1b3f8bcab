/**
 * `__proto__`, `constructor` and `prototype` as embedded-data keys: JSON parsing keeps each as an
 * own key, and each gets the same 400 as any undeclared field (never silently dropped, never a
 * prototype change), in a single call and in a batch.
 */
import { describe, expect, it } from "vitest";
import { api, linkRequest } from "../helpers/api";

/** A link request whose embeddedData starts with `key` (written into the JSON text itself). */
function bodyWithKey(key: string): string {
  const text = JSON.stringify(linkRequest()).replace(
    '"embeddedData":{',
    `"embeddedData":{"${key}":"x",`,
  );
  expect(Object.hasOwn(JSON.parse(text).embeddedData, key)).toBe(true);
  return text;
}

const post = (path: string, body: string) =>
  api(path, { method: "POST", body, headers: { "Content-Type": "application/json" } });

describe("prototype-shaped embedded-data keys", () => {
  it.each(["__proto__", "constructor", "prototype"])(
    "%s is a 400 naming embeddedData.%s, like any undeclared field",
    async (key) => {
      const res = await post("/v1/links", bodyWithKey(key));
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; details: { path: string }[] } };
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.details.map((d) => d.path)).toEqual([`embeddedData.${key}`]);

      const batch = await post("/v1/links/batch", `{"links":[${bodyWithKey(key)}]}`);
      expect(batch.status).toBe(200);
      const { results } = (await batch.json()) as {
        results: { status: number; error: { details: { path: string }[] } }[];
      };
      expect(results[0]?.status).toBe(400);
      expect(results[0]?.error.details.map((d) => d.path)).toEqual([`embeddedData.${key}`]);
    },
  );

  it("an undeclared ordinary field gets the same status, code and path shape", async () => {
    const res = await post("/v1/links", bodyWithKey("price"));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: "invalid_request", details: [{ path: "embeddedData.price" }] },
    });
  });
});
