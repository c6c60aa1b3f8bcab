/**
 * Hostile request bodies and credentials on the API: oversized bodies are 413 (by declared length
 * or by the bytes actually streamed, whatever Content-Length says), deeply nested or malformed
 * JSON is 400, never a 500; and 1,000 wrong API keys are all 401, none accepted, none logged.
 */
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { linkRequest, ORIGIN } from "../helpers/api";
import { callWorker } from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

function post(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  return SELF.fetch(`${ORIGIN}${path}`, {
    method: "POST",
    headers: {
      Authorization: "Bearer dev-issuer-key",
      "Content-Type": "application/json",
      ...headers,
    },
    body,
  });
}

/**
 * A body streamed in chunks with no Content-Length (chunked), as a client can send it; `read`
 * counts the bytes the Worker pulled from it.
 */
function streamed(totalBytes: number, read = { bytes: 0 }): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
  return new ReadableStream({
    pull(controller) {
      if (read.bytes >= totalBytes) {
        controller.close();
        return;
      }
      controller.enqueue(chunk);
      read.bytes += chunk.byteLength;
    },
  });
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toContain("application/json");
  expect(await res.json()).toMatchObject({ error: { code } });
}

describe("oversized bodies", () => {
  it("one link over 64 KB is 413, by Content-Length or by streamed bytes", async () => {
    const big = JSON.stringify({ ...linkRequest(), pad: "x".repeat(70 * 1024) });
    await expectError(await post("/v1/links", big), 413, "payload_too_large");
    await expectError(await post("/v1/links", streamed(200 * 1024)), 413, "payload_too_large");
  });

  it("a batch over 1 MB is 413; a lying Content-Length does not get more read", async () => {
    const links = Array.from({ length: 500 }, () =>
      linkRequest({ embeddedData: { venue: "v".repeat(1_024), event: "e".repeat(1_024) } }),
    );
    await expectError(
      await post("/v1/links/batch", JSON.stringify({ links })),
      413,
      "payload_too_large",
    );
    const understated: Record<string, string>[] = [{}, { "Content-Length": "100" }];
    for (const headers of understated) {
      const read = { bytes: 0 };
      const res = await post("/v1/links/batch", streamed(8 * 1024 * 1024, read), headers);
      await expectError(res, 413, "payload_too_large");
      // Reading stopped near the limit (1 MB and a chunk or two), not at the end of the 8 MB.
      expect(read.bytes).toBeLessThan(2 * 1024 * 1024);
    }
  });

  it("a body that is not JSON is 415 or 400, never 500", async () => {
    await expectError(
      await post("/v1/links", "survey=demo", {
        "Content-Type": "application/x-www-form-urlencoded",
      }),
      415,
      "unsupported_media_type",
    );
    for (const body of ["", "{", "nul", '{"survey": "demo",}', "\u0000", "\ufeff{}", "[]", "42"]) {
      const res = await post("/v1/links", body);
      expect(res.status).toBe(400);
    }
    const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]);
    expect((await post("/v1/links", invalidUtf8)).status).toBe(400);
  });
});

describe("deeply nested bodies", () => {
  const nested = (depth: number, open = "[", close = "]") =>
    `${open.repeat(depth)}${close.repeat(depth)}`;

  it("are 400 on the single-link API, wherever the nesting is", async () => {
    const depth = 30_000; // ~60 KB, under the 64 KB limit
    const bodies = [
      nested(depth),
      `{"survey": "demo", "extra": ${nested(depth)}}`,
      JSON.stringify(linkRequest()).replace(/}$/, `, "embeddedData": {"venue": ${nested(depth)}}}`),
      `{"a":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}`,
    ];
    for (const body of bodies) {
      expect(body.length).toBeLessThan(64 * 1024);
      const res = await post("/v1/links", body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    }
  });

  it("are 400 per item in a batch (or for the whole batch), never 500", async () => {
    const depth = 200_000; // ~400 KB, under the 1 MB limit
    const deepObject = `${'{"x":'.repeat(1_000)}1${"}".repeat(1_000)}`;
    const items = `[${JSON.stringify(linkRequest())}, ${nested(depth)}, ${deepObject}]`;
    const res = await post("/v1/links/batch", `{"links": ${items}}`);
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: { status: number }[] };
    expect(results.map((r) => r.status)).toEqual([201, 400, 400]);

    const one = await post("/v1/links/batch", `{"links": ${nested(depth)}}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ results: [{ index: 0, status: 400 }] });
    const whole = await post("/v1/links/batch", `{"links": {"a": ${nested(depth)}}}`);
    expect(whole.status).toBe(400);
  });
});

/** Alternates the issue call and the status read; called directly (SELF slows down per request). */
function withKey(key: string, n: number): Request {
  const headers = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
  return n % 2 === 0
    ? new Request(`${ORIGIN}/v1/links`, {
        method: "POST",
        headers,
        body: JSON.stringify(linkRequest()),
      })
    : new Request(`${ORIGIN}/v1/links/AAAAAAAAAAAAAAAAAAAAAA`, { headers });
}

describe("1,000 wrong API keys", () => {
  it("are all 401 with WWW-Authenticate; none is accepted and none appears in the logs", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const near = [
      "dev-issuer-key-",
      "dev-issuer-kez",
      "DEV-ISSUER-KEY",
      "dev-issuer",
      "dev-issuer-keÿ",
    ];
    const stored = "f5bf8d305f36c60c6aede77e25a6db3b4754e077dac09f06b9676fc60d774821"; // its hash
    const keys: string[] = [...near, stored, "x".repeat(600), "k".repeat(512)];
    while (keys.length < 1_000) {
      const bytes = crypto.getRandomValues(new Uint8Array(24));
      keys.push(`ie_${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`);
    }
    const statuses: number[] = [];
    const accepted: string[] = [];
    for (let i = 0; i < keys.length; i += 50) {
      const chunk = keys.slice(i, i + 50);
      const responses = await Promise.all(chunk.map((key, j) => callWorker(withKey(key, i + j))));
      for (const [j, res] of responses.entries()) {
        statuses.push(res.status);
        if (res.status !== 401 || !res.headers.get("WWW-Authenticate")?.startsWith("Bearer")) {
          accepted.push(`${chunk[j]}: ${res.status}`);
        }
        await res.arrayBuffer();
      }
    }
    expect(statuses).toHaveLength(1_000);
    expect(accepted).toEqual([]);

    // Malformed Authorization headers too.
    for (const header of [
      "",
      "Bearer",
      "Bearer ",
      "Basic ZGV2LWlzc3Vlci1rZXk6",
      "dev-issuer-key",
      "Bearer a b",
    ]) {
      const res = await SELF.fetch(`${ORIGIN}/v1/links/AAAAAAAAAAAAAAAAAAAAAA`, {
        headers: { Authorization: header },
      });
      expect(res.status).toBe(401);
    }

    const output = [...log.mock.calls, ...error.mock.calls, ...warn.mock.calls]
      .flat()
      .map((part) => (typeof part === "string" ? part : JSON.stringify(part)))
      .join("\n");
    for (const key of keys) expect(output).not.toContain(key);
    expect(output).not.toContain("dev-issuer-key");
  });
});
