/**
 * The subject of an erasure: a keyed hash of the customer id, so a retried erasure request finds
 * the erasure it continues without the customer id being stored. Keyed (HMAC with a key derived
 * from COOKIE_SECRET by HKDF, for this use only) because customer ids are guessable: a plain
 * hash could be matched back by hashing candidates. It is kept only while the erasure runs.
 */
import { base64url } from "../tokens/ids";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function subjectKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
      .then((master) =>
        crypto.subtle.deriveKey(
          {
            name: "HKDF",
            hash: "SHA-256",
            salt: new Uint8Array(),
            info: encoder.encode("invite-edge erasure subject v1"),
          },
          master,
          { name: "HMAC", hash: "SHA-256", length: 256 },
          false,
          ["sign"],
        ),
      );
    keys.set(secret, key);
  }
  return key;
}

/** The erasure subject of `customerId` under `secret` (base64url of an HMAC-SHA-256). */
export async function erasureSubject(secret: string, customerId: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await subjectKey(secret),
    encoder.encode(customerId),
  );
  return base64url(mac);
}
