import { describe, expect, it } from "vitest";
import { issue, randomIp, tap } from "./helpers/api";

describe("rate limits", () => {
  it("limits taps per client IP with 429 and Retry-After (100 per 10 s in development)", async () => {
    const link = await issue();
    const ip = randomIp();
    const statuses: number[] = [];
    for (let i = 0; i < 110; i++)
      statuses.push((await tap(link.id, { ip, method: "HEAD" })).status);
    expect(statuses.slice(0, 100).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(100).every((s) => s === 429)).toBe(true);
    const limited = await tap(link.id, { ip });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("10");
    expect(await limited.text()).toContain("Please wait");
    // Another client is not affected, and the limited client consumed nothing.
    expect((await tap(link.id)).status).toBe(302);
  });
});
