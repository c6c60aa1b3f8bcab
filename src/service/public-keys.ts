/**
 * `GET /.well-known/jwks.json`: the public keys that verify invite tokens and the `sig` on survey
 * links. Third parties check `sig` with them, so they answer whatever else is misconfigured: only
 * broken signing keys themselves make this fail.
 */
import type { Context } from "hono";
import { getSigningKeys } from "../config/config";
import type { AppEnv } from "../http/context";
import { getKeyRing } from "../tokens/keyring";

export async function publicKeys(c: Context<AppEnv>): Promise<Response> {
  const { jwks } = await getKeyRing(getSigningKeys(c.env));
  c.header("Cache-Control", "public, max-age=300");
  return c.json(jwks);
}
