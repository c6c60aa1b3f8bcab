/**
 * Standard Webhooks signatures (standardwebhooks.com), the scheme Svix and others use, so that
 * receivers verify with a library they already have: `webhook-signature` is `v1,` then the
 * base64 HMAC-SHA256 of `"<webhook-id>.<webhook-timestamp>.<body>"` under the subscription's key.
 * A subscription that holds two keys while one is rotated gets both signatures, space-separated.
 */

interface SignedHeaders {
  "webhook-id": string;
  /** Unix seconds of this attempt: receivers refuse one far from their clock (replay guard). */
  "webhook-timestamp": string;
  "webhook-signature": string;
}

const base64 = (bytes: ArrayBuffer): string => btoa(String.fromCharCode(...new Uint8Array(bytes)));

async function signOnce(key: Uint8Array, content: Uint8Array): Promise<string> {
  const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return `v1,${base64(await crypto.subtle.sign("HMAC", hmac, content))}`;
}

/**
 * The three headers of one delivery attempt of `body`, signed with each of `keys`.
 *
 * @example
 * const headers = await signDelivery([key], "msg_…", body, Date.now());
 * // {"webhook-id": "msg_…", "webhook-timestamp": "1765156800", "webhook-signature": "v1,…"}
 */
export async function signDelivery(
  keys: readonly Uint8Array[],
  id: string,
  body: string,
  nowMs: number,
): Promise<SignedHeaders> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const content = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  const signatures = await Promise.all(keys.map((key) => signOnce(key, content)));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": signatures.join(" "),
  };
}
