/**
 * Keyed hashes of values that must be recognised later but never stored: HMAC-SHA-256 under a
 * key derived from a secret by HKDF, one key per purpose, so a hash made for one use means
 * nothing in another. Keyed because the values hashed (customer ids, network addresses) are
 * guessable: a plain hash could be matched back by hashing every candidate.
 */
import { base64url } from "./ids";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function derivedKey(secret: string, purpose: string): Promise<CryptoKey> {
  const id = `${purpose}\n${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
      .then((master) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: encoder.encode(purpose) },
          master,
          { name: "HMAC", hash: "SHA-256", length: 256 },
          false,
          ["sign"],
        ),
      );
    keys.set(id, key);
  }
  return key;
}

/**
 * base64url of HMAC-SHA-256(HKDF(secret, info = purpose), value).
 *
 * @example await keyedHash(config.cookieSecret, "invite-edge erasure subject v1", customerId)
 */
export async function keyedHash(secret: string, purpose: string, value: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await derivedKey(secret, purpose),
    encoder.encode(value),
  );
  return base64url(mac);
}
