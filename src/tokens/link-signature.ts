/**
 * `sig` on query-mode survey links: a compact JWS with a detached payload (RFC 7515, appendix F)
 * over the canonical form of the link's other values. Anyone holding the public JWKS can check
 * later whether the values a response carries are the ones invite-edge signed.
 *
 * Canonical form: the parameters other than `sig`, sorted by name, each
 * `encodeURIComponent(name)=encodeURIComponent(value)`, joined with `&`.
 * To verify: put base64url(canonical) between the two dots of `sig` and verify the JWS.
 */
import { CompactSign, compactVerify, errors } from "jose";
import type { Config } from "../config/config";
import { base64url } from "./ids";
import { getKeyRing } from "./keyring";

const encoder = new TextEncoder();

function canonicalLinkValues(values: Record<string, string>): string {
  return Object.keys(values)
    .filter((name) => name !== "sig")
    .sort()
    .map((name) => `${encodeURIComponent(name)}=${encodeURIComponent(values[name] ?? "")}`)
    .join("&");
}

export async function signLinkValues(
  config: Config,
  values: Record<string, string>,
): Promise<string> {
  const { signer } = await getKeyRing(config.signingKeys);
  const jws = await new CompactSign(encoder.encode(canonicalLinkValues(values)))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid })
    .sign(signer.key);
  const [header, , signature] = jws.split(".");
  return `${header}..${signature}`;
}

/** True when `sig` is a valid detached signature by one of our keys over `values`. */
export async function verifyLinkValues(
  config: Config,
  values: Record<string, string>,
  sig: string,
): Promise<boolean> {
  const parts = sig.split(".");
  if (parts.length !== 3 || parts[1] !== "") return false;
  const ring = await getKeyRing(config.signingKeys);
  const jws = `${parts[0]}.${base64url(encoder.encode(canonicalLinkValues(values)))}.${parts[2]}`;
  try {
    await compactVerify(
      jws,
      (header) => {
        const key = header.kid ? ring.verifiers.get(header.kid) : undefined;
        if (!key || key.alg !== header.alg) throw new errors.JWKSNoMatchingKey();
        return key.key;
      },
      { algorithms: ["ES256", "EdDSA"] },
    );
    return true;
  } catch {
    return false;
  }
}
