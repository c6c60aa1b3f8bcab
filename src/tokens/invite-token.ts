/**
 * The invite JWT: everything a tap needs, signed at issue time. Links issued while the ledger kept
 * whole tokens carry one on their row (new links keep only the values' `sig`), and the tap still
 * verifies it; the tests sign such tokens with `signInviteToken`.
 * Verification pins the algorithms, issuer, audience, expiry and `jti` = the id in the link, and
 * only accepts keys from our ring (by `kid`).
 */
import { errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { Config } from "../config/config";
import { getKeyRing } from "./keyring";

export type EmbeddedValue = string | number | boolean;

interface InviteClaims {
  survey: string;
  customerId: string;
  transactionId: string;
  trigger: string;
  channel?: string;
  /** Qualtrics language code, sent to the survey as `Q_Language` (src/links/language.ts). */
  language?: string;
  embeddedData: Record<string, EmbeddedValue>;
  /** Detached JWS over the survey link's query values (see `link-signature.ts`). */
  sig: string;
}

export type VerifiedInvite = InviteClaims & { id: string; expiresAt: number };

const ALGORITHMS = ["ES256", "EdDSA"];

export async function signInviteToken(
  config: Config,
  id: string,
  claims: InviteClaims,
  issuedAt: number,
  expiresAt: number,
): Promise<string> {
  const { signer } = await getKeyRing(config.signingKeys);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: "JWT" })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setJti(id)
    .setIssuedAt(Math.floor(issuedAt / 1000))
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(signer.key);
}

type VerifyResult =
  | { ok: true; invite: VerifiedInvite }
  | { ok: false; reason: "expired" | "invalid" };

function isClaims(payload: JWTPayload): payload is JWTPayload & InviteClaims {
  const p = payload as Record<string, unknown>;
  return (
    typeof p.survey === "string" &&
    typeof p.customerId === "string" &&
    typeof p.transactionId === "string" &&
    typeof p.trigger === "string" &&
    typeof p.sig === "string" &&
    (p.channel === undefined || typeof p.channel === "string") &&
    (p.language === undefined || typeof p.language === "string") &&
    typeof p.embeddedData === "object" &&
    p.embeddedData !== null
  );
}

interface VerifyOptions {
  /** Seconds of leeway on `exp` (the ledger's own expiry, in ms, is checked by the caller). */
  clockTolerance?: number;
}

export async function verifyInviteToken(
  config: Config,
  id: string,
  token: string,
  { clockTolerance = 0 }: VerifyOptions = {},
): Promise<VerifyResult> {
  const ring = await getKeyRing(config.signingKeys);
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid ? ring.verifiers.get(header.kid) : undefined;
        if (!key || key.alg !== header.alg) throw new errors.JWKSNoMatchingKey();
        return key.key;
      },
      {
        algorithms: ALGORITHMS,
        issuer: config.issuer,
        audience: config.audience,
        requiredClaims: ["jti", "iat", "exp"],
        clockTolerance,
      },
    );
    if (payload.jti !== id || !isClaims(payload) || payload.exp === undefined) {
      return { ok: false, reason: "invalid" };
    }
    const { survey, customerId, transactionId, trigger, channel, language, embeddedData, sig } =
      payload;
    return {
      ok: true,
      invite: {
        id,
        expiresAt: payload.exp * 1000,
        survey,
        customerId,
        transactionId,
        trigger,
        channel,
        ...(language === undefined ? {} : { language }),
        embeddedData,
        sig,
      },
    };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
    return { ok: false, reason: "invalid" };
  }
}
