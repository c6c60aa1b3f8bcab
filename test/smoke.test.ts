import { describe, expect, it } from "vitest";
import { api, cookieFrom, issue, tap } from "./helpers/api";

describe("smoke", () => {
  it("issues and taps a link", async () => {
    const health = await api("/healthz");
    expect(health.status).toBe(200);
    const link = await issue();
    const first = await tap(link.id);
    expect(first.status).toBe(302);
    const second = await tap(link.id);
    expect(second.status).toBe(410);
    const again = await tap(link.id, { cookie: cookieFrom(first) });
    expect(again.status).toBe(302);
  });
});
