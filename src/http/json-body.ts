/**
 * Reads a JSON request body before validation: `415` when it is not JSON, `413` over the limit,
 * `400` when it is not UTF-8 or does not parse. The limit holds on the bytes actually read, not
 * only on Content-Length: a body that streams past it is cut off there, whatever its header said.
 * Only Hono's public API: the counted body replaces `c.req.raw`, and `c.req.arrayBuffer()` keeps
 * what it read, so the zod validator's `c.req.json()` reuses it. (`hono/body-limit` trusts a
 * Content-Length, so a body larger than it says would be read whole before being refused.)
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

export const ONE_LINK_LIMIT = 64 * 1024;
export const BATCH_LIMIT = 1024 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

const tooLarge = (limit: number) =>
  new ApiError(413, "payload_too_large", `The body is larger than ${limit / 1024} KB.`);

/** Passes bytes through until `limit`; past it, errors the stream, which stops its source. */
function countBytes(limit: number, over: () => void): TransformStream<Uint8Array, Uint8Array> {
  let size = 0;
  return new TransformStream({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size <= limit) return controller.enqueue(chunk);
      over();
      controller.error(tooLarge(limit));
    },
  });
}

export function jsonBody(limit: number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!JSON_TYPE.test(c.req.header("Content-Type") ?? "")) {
      throw new ApiError(415, "unsupported_media_type", "Send the body as application/json.");
    }
    if (Number(c.req.header("Content-Length") ?? "0") > limit) throw tooLarge(limit);
    let overLimit = false;
    const body = c.req.raw.body;
    if (body) {
      const counted = body.pipeThrough(countBytes(limit, () => (overLimit = true)));
      c.req.raw = new Request(c.req.raw, { body: counted });
    }
    const bytes = await c.req.arrayBuffer().catch((error: unknown) => {
      throw overLimit ? tooLarge(limit) : error;
    });
    try {
      // Fatal: invalid UTF-8 is refused here, not turned into U+FFFD by `c.req.json()` later.
      JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    } catch {
      throw new ApiError(400, "invalid_request", "The body is not valid JSON.", [
        { path: "(body)", message: "malformed JSON" },
      ]);
    }
    await next();
  });
}
