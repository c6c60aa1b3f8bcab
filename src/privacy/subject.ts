/**
 * The subject of an erasure: a keyed hash of the customer id, so a retried erasure request finds
 * the erasure it continues without the customer id being stored. Keyed (HMAC with a key derived
 * from COOKIE_SECRET by HKDF, for this use only) because customer ids are guessable: a plain
 * hash could be matched back by hashing candidates. It is kept only while the erasure runs.
 */
import { keyedHash } from "../tokens/keyed-hash";

/** The erasure subject of `customerId` under `secret` (base64url of an HMAC-SHA-256). */
export function erasureSubject(secret: string, customerId: string): Promise<string> {
  return keyedHash(secret, "invite-edge erasure subject v1", customerId);
}
