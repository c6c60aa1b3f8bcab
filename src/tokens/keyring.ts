/**
 * The signing key ring: every configured key verifies, the last one signs (append a new key to
 * rotate; remove an old one once the links it signed have expired). Keys are imported once per
 * parsed SIGNING_KEYS (the config holds the same array), since importing is far slower than
 * signing.
 */
import { type CryptoKey, importJWK, type JWK } from "jose";
import type { SigningJwk } from "../config/config";

type TokenAlg = "ES256" | "EdDSA";

interface RingKey {
  kid: string;
  alg: TokenAlg;
  key: CryptoKey;
}

interface KeyRing {
  signer: RingKey;
  verifiers: ReadonlyMap<string, RingKey>;
  /** Public keys only, as served at /.well-known/jwks.json. */
  jwks: { keys: JWK[] };
}

const PRIVATE_MEMBERS = new Set(["d", "p", "q", "dp", "dq", "qi", "oth", "k"]);

function publicJwk(jwk: SigningJwk): JWK {
  const pub: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(jwk)) {
    if (!PRIVATE_MEMBERS.has(name)) pub[name] = value;
  }
  return { ...pub, use: "sig" } as JWK;
}

async function importKey(jwk: JWK, alg: TokenAlg, kid: string): Promise<RingKey> {
  const key = await importJWK(jwk, alg);
  if (!(key instanceof CryptoKey)) throw new Error(`SIGNING_KEYS.${kid}: not an asymmetric key`);
  return { kid, alg, key };
}

async function importRing(signingKeys: readonly SigningJwk[]): Promise<KeyRing> {
  const last = signingKeys.at(-1);
  if (!last) throw new Error("SIGNING_KEYS is empty");
  const publicKeys = signingKeys.map(publicJwk);
  const [signer, ...verifiers] = await Promise.all([
    importKey(last as JWK, last.alg, last.kid),
    ...signingKeys.map((jwk, i) => importKey(publicKeys[i] as JWK, jwk.alg, jwk.kid)),
  ]);
  if (!signer) throw new Error("SIGNING_KEYS is empty");
  return {
    signer,
    verifiers: new Map(verifiers.map((k) => [k.kid, k])),
    jwks: { keys: publicKeys },
  };
}

const rings = new WeakMap<readonly SigningJwk[], Promise<KeyRing>>();

export function getKeyRing(signingKeys: readonly SigningJwk[]): Promise<KeyRing> {
  let ring = rings.get(signingKeys);
  if (!ring) {
    ring = importRing(signingKeys);
    // A failed import must not be cached forever.
    ring.catch(() => rings.delete(signingKeys));
    rings.set(signingKeys, ring);
  }
  return ring;
}
