/**
 * The web-service data endpoint (`GET /v1/invites/:id/data`): a revoked invite's data is no
 * longer served (410 `revoked`), and wrong secrets from one client are rate-limited (429 with
 * `Retry-After`) while the right secret is never refused, whoever sends it.
 */

import { describe, expect, it } from "vitest";
import { api, issue, ORIGIN, WEBSERVICE_SECRET } from "../helpers/api";
import { callWorker, sleep } from "./helpers";

const WRONG_SECRET_LIMIT = 20; // per client address, per 60 s (wrangler.toml)

function dataRequest(id: string, secret: string, ip: string): Request {
  return new Request(`${ORIGIN}/v1/invites/${id}/data`, {
    headers: { "X-Webservice-Secret": secret, "CF-Connecting-IP": ip },
  });
}

const randomIp = () => `10.${Array.from(crypto.getRandomValues(new Uint8Array(3))).join(".")}`;

describe("GET /v1/invites/:id/data", () => {
  it("refuses a revoked invite with a 410 revoked envelope", async () => {
    const link = await issue({ survey: "demo-ws" });
    const ip = randomIp();
    expect((await callWorker(dataRequest(link.id, WEBSERVICE_SECRET, ip))).status).toBe(200);
    expect((await api(`/v1/links/${link.id}`, { method: "DELETE" })).status).toBe(200);
    const res = await callWorker(dataRequest(link.id, WEBSERVICE_SECRET, ip));
    expect(res.status).toBe(410);
    expect(await res.json()).toEqual({
      error: { code: "revoked", message: expect.any(String) },
    });
  });

  it(`rate-limits wrong secrets per client: ${WRONG_SECRET_LIMIT} get 401, then 429 with Retry-After`, async () => {
    const link = await issue({ survey: "demo-ws" });
    const ip = randomIp();
    // The window is fixed and aligned to the minute: start with room in this one.
    const remaining = 60_000 - (Date.now() % 60_000);
    if (remaining < 10_000) await sleep(remaining + 50);
    const statuses: number[] = [];
    for (let i = 0; i < WRONG_SECRET_LIMIT; i++) {
      statuses.push((await callWorker(dataRequest(link.id, `guess-${i}`, ip))).status);
    }
    expect(statuses.every((status) => status === 401)).toBe(true);
    const limited = await callWorker(dataRequest(link.id, "guess-again", ip));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect(await limited.json()).toMatchObject({ error: { code: "rate_limited" } });

    // The right secret is still served (Qualtrics' servers are shared by every survey), and
    // another client's wrong secret is still a plain 401.
    expect((await callWorker(dataRequest(link.id, WEBSERVICE_SECRET, ip))).status).toBe(200);
    expect((await callWorker(dataRequest(link.id, "guess", randomIp()))).status).toBe(401);
  });
});
