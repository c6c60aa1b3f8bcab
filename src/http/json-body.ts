/**
 * Reads a JSON request body before validation: `415` when it is not JSON, `413` over the limit
 * (checked on the bytes actually read, not only Content-Length), `400` when it does not parse.
 * The text read is cached on the request, so the zod validator that follows reuses it.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

export const ONE_LINK_LIMIT = 64 * 1024;
export const BATCH_LIMIT = 1024 * 1024;

async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

const tooLarge = (limit: number) =>
  new ApiError(413, "payload_too_large", `The body is larger than ${limit / 1024} KB.`);

export function jsonBody(limit: number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const type = c.req.header("Content-Type") ?? "";
    if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
      throw new ApiError(415, "unsupported_media_type", "Send the body as application/json.");
    }
    const declared = Number(c.req.header("Content-Length") ?? "0");
    if (declared > limit) throw tooLarge(limit);
    const bytes = c.req.raw.body ? await readLimited(c.req.raw.body, limit) : new Uint8Array();
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
      JSON.parse(text);
    } catch {
      throw new ApiError(400, "invalid_request", "The body is not valid JSON.", [
        { path: "(body)", message: "malformed JSON" },
      ]);
    }
    // Hono's validators read `c.req.json()`, which parses this cached text.
    // (Hono types the cache as values, but stores and reads promises.)
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    await next();
  });
}
