/**
 * Attacks on the token stored with the invite. Whoever can write storage (or replay a token under
 * another id) must not be able to open a survey with data they chose: every token that is not a
 * valid ES256/EdDSA JWT signed by a key of our ring, for our issuer and audience, with `jti` = the
 * id in the link and not expired, is treated as not found (404), and the claim it rode on is
 * undone: none of them consumes the link.
 */
import { env } from "cloudflare:test";
import {
  base64url,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { api, eventually, type IssuedLink, issue, tap } from "../helpers/api";
import { ledgerOf } from "../helpers/ledger";
import { clickOutcomes, devSigningJwk, ledgerRow, tokenAsIssuedBefore } from "./helpers";

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

interface RealToken {
  link: IssuedLink;
  token: string;
  header: Record<string, unknown>;
  payload: JWTPayload & Record<string, unknown>;
}

/** Issues a real link and gives its row the genuine token it had while the ledger kept tokens. */
async function realToken(): Promise<RealToken> {
  const link = await issue();
  const token = await tokenAsIssuedBefore(link.id);
  await ledgerOf(link.id)
    .prepare("UPDATE invites SET token = ? WHERE id = ?")
    .bind(token, link.id)
    .run();
  const [header, payload] = token.split(".");
  return {
    link,
    token,
    header: JSON.parse(new TextDecoder().decode(base64url.decode(header ?? ""))),
    payload: JSON.parse(new TextDecoder().decode(base64url.decode(payload ?? ""))),
  };
}

/** Puts `forged` as the link's token (as someone with storage write access would) and taps it. */
async function tapForged(link: IssuedLink, forged: string): Promise<Response> {
  await ledgerOf(link.id)
    .prepare("UPDATE invites SET token = ? WHERE id = ?")
    .bind(forged, link.id)
    .run();
  return tap(link.id);
}

async function expectRefused(link: IssuedLink, res: Response, status: 404 | 410) {
  expect(res.status).toBe(status);
  expect(res.headers.get("Location")).toBeNull();
  expect(res.headers.get("Set-Cookie")).toBeNull();
  expect(res.headers.get("Content-Type")).toContain("text/html");
  const html = await res.text();
  expect(html).toContain(status === 404 ? "Link not found" : "expired");
  // Nothing consumed, nothing counted as an open.
  expect((await ledgerRow(link.id))?.consumed_at).toBeNull();
  expect(await clickOutcomes(link.id)).not.toContain("opened");
}

/** Signs `payload` with the development key (the attacker would need the private key for this). */
async function signWithDevKey(payload: JWTPayload, header: Record<string, unknown> = {}) {
  const jwk = devSigningJwk();
  const key = await importJWK(jwk as JWK, "ES256");
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "ES256", kid: jwk.kid, typ: "JWT", ...header })
    .sign(key);
}

let jwks: { keys: JWK[] };

beforeAll(async () => {
  jwks = await (await api("/.well-known/jwks.json", { key: null })).json();
});

describe("forged tokens in storage", () => {
  it("a genuine token opens the survey (control)", async () => {
    const { link } = await realToken();
    expect((await tap(link.id)).status).toBe(302);
  });

  it('alg "none" (unsigned) is not found', async () => {
    const { link, payload } = await realToken();
    const forged = `${encode({ alg: "none", typ: "JWT" })}.${encode({ ...payload, customerId: "attacker" })}.`;
    await expectRefused(link, await tapForged(link, forged), 404);
  });

  it('alg "none" with our kid and a leftover signature is not found', async () => {
    const { link, token, payload } = await realToken();
    const signature = token.split(".")[2];
    const forged = `${encode({ alg: "none", kid: jwks.keys[0]?.kid })}.${encode(payload)}.${signature}`;
    await expectRefused(link, await tapForged(link, forged), 404);
  });

  it("HS256 keyed with the public key (PEM, JWK JSON, raw x) is not found", async () => {
    const publicJwk = jwks.keys[0];
    if (!publicJwk) throw new Error("JWKS is empty");
    const publicKey = await importJWK({ ...publicJwk, use: undefined }, "ES256");
    const secrets = [
      await exportSPKI(publicKey as CryptoKey),
      JSON.stringify(publicJwk),
      String(publicJwk.x),
    ];
    for (const secret of secrets) {
      const { link, payload } = await realToken();
      const forged = await new SignJWT({ ...payload, customerId: "attacker" })
        .setProtectedHeader({ alg: "HS256", kid: publicJwk.kid, typ: "JWT" })
        .sign(new TextEncoder().encode(secret));
      await expectRefused(link, await tapForged(link, forged), 404);
    }
  });

  it("an expired token on a live invite is not found (the ledger decides expiry)", async () => {
    const { link, payload } = await realToken();
    const past = Math.floor(Date.now() / 1000) - 3600;
    const forged = await signWithDevKey({ ...payload, iat: past - 60, exp: past });
    await expectRefused(link, await tapForged(link, forged), 404);
  });

  it("a wrong audience or issuer is not found", async () => {
    for (const change of [{ aud: "someone-else:tap" }, { iss: "https://evil.example" }]) {
      const { link, payload } = await realToken();
      const forged = await signWithDevKey({ ...payload, ...change });
      await expectRefused(link, await tapForged(link, forged), 404);
    }
  });

  it("a token for another id (jti) replayed under this id is not found", async () => {
    const victim = await realToken();
    const other = await realToken();
    await expectRefused(victim.link, await tapForged(victim.link, other.token), 404);
  });

  it("a token missing required claims (exp, jti, invite claims) is not found", async () => {
    const { link, payload } = await realToken();
    const { exp: _exp, ...noExp } = payload;
    const { sig: _sig, ...noSig } = payload;
    for (const claims of [noExp, noSig, { ...payload, embeddedData: "venue=x" }]) {
      const forged = await signWithDevKey(claims);
      await expectRefused(link, await tapForged(link, forged), 404);
    }
  });

  it("an unknown kid, or our kid on another key, is not found", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    for (const kid of ["attacker-2026", jwks.keys[0]?.kid ?? ""]) {
      const { link, payload } = await realToken();
      const forged = await new SignJWT(payload)
        .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
        .sign(privateKey);
      await expectRefused(link, await tapForged(link, forged), 404);
    }
  });

  it("a token without kid, or with alg changed to EdDSA, is not found", async () => {
    const { link, token, header, payload } = await realToken();
    const [, body, signature] = token.split(".");
    const noKid = { ...header, kid: undefined };
    for (const forgedHeader of [noKid, { ...header, alg: "EdDSA" }]) {
      await expectRefused(
        link,
        await tapForged(link, `${encode(forgedHeader)}.${body}.${signature}`),
        404,
      );
    }
    expect(payload.jti).toBe(link.id);
  });

  it("edited claims under the original signature are not found", async () => {
    const edits: Record<string, unknown>[] = [
      { customerId: "someone-else" },
      { embeddedData: { venue: "VIP lounge", event: "Finals", seat: "A1" } },
      { survey: "demo-ws" },
      { exp: Math.floor(Date.now() / 1000) + 365 * 86_400 },
    ];
    for (const edit of edits) {
      const { link, token, payload } = await realToken();
      const [header, , signature] = token.split(".");
      const forged = `${header}.${encode({ ...payload, ...edit })}.${signature}`;
      await expectRefused(link, await tapForged(link, forged), 404);
    }
  });

  it("garbage token values (not a JWT, JSON, empty, huge) are not found", async () => {
    const values = [
      "not-a-token",
      JSON.stringify({ survey: "demo", customerId: "attacker" }),
      "a.b.c",
      "...",
      " ",
      `${"eyJ".repeat(50_000)}.x.y`,
    ];
    for (const value of values) {
      const { link } = await realToken();
      await expectRefused(link, await tapForged(link, value), 404);
    }
  });

  it("a cleared consumed mark cannot re-open a link for a stranger", async () => {
    const { link } = await realToken();
    expect((await tap(link.id)).status).toBe(302);
    expect((await tap(link.id, { ip: "198.51.100.98" })).status).toBe(410);
    await eventually(async () => expect(await env.LINKS.get(link.id)).not.toBeNull());
    // Someone clears the mark (or it never got written here): the ledger still refuses.
    await env.LINKS.delete(link.id);
    const stranger = await tap(link.id, { ip: "198.51.100.99" });
    expect(stranger.status).toBe(410);
    expect(stranger.headers.get("Location")).toBeNull();
  });

  it("a stale consumed mark refuses one tap, then heals: the claim is undone, the mark dropped", async () => {
    const { link } = await realToken();
    await env.LINKS.put(link.id, "", {
      expiration: Math.floor(Date.parse(link.expiresAt) / 1000),
      metadata: { consumedAt: Date.now() },
    });
    expect((await tap(link.id)).status).toBe(410);
    // The claim that ran side by side won (the ledger had no claim): it is undone.
    await eventually(async () => expect(await env.LINKS.get(link.id)).toBeNull());
    expect((await ledgerRow(link.id))?.consumed_at).toBeNull();
    expect(await clickOutcomes(link.id)).not.toContain("opened");
    expect((await tap(link.id)).status).toBe(302);
  });

  it("a forged claim cookie re-opens nothing", async () => {
    const { link } = await realToken();
    const first = await tap(link.id);
    expect(first.status).toBe(302);
    const forged = ["ie_claim=", "ie_claim=AAAA", `ie_claim=${link.id}`, "ie_claim=x; ie_claim=y"];
    for (const cookie of forged) {
      expect((await tap(link.id, { cookie })).status).toBe(410);
    }
  });
});
