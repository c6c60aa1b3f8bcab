/**
 * Link-preview bots, unfurlers and mail scanners never claim an invite, whatever the method: GET,
 * HEAD, or a POST that submits the confirm page's form. Each gets the neutral preview page, and
 * the customer who taps after it still reaches the survey. The user agents are the ones these
 * agents send (docs/bots.md lists what is recognised and what cannot be).
 */
import { describe, expect, it } from "vitest";
import { PREVIEW_AGENTS } from "../fixtures/user-agents";
import { cookieFrom, eventually, issue, linkStatus, tap } from "../helpers/api";

/** A scanner that runs an ordinary desktop browser (Safe Links detonation, many mail gateways). */
const ORDINARY_DESKTOP_CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36";

async function expectPreview(res: Response, method: string) {
  expect(res.status).toBe(200);
  expect(res.headers.get("Location")).toBeNull();
  expect(res.headers.get("Set-Cookie")).toBeNull();
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  expect(res.headers.get("X-Robots-Tag")).toBe("noindex, nofollow");
  const html = await res.text();
  if (method !== "HEAD") {
    expect(html).toContain("Survey invitation");
    expect(html).not.toContain("<form");
  }
}

describe("preview agents never claim, whatever the method", () => {
  it.each(Object.entries(PREVIEW_AGENTS))(
    "%s: GET, HEAD and POST get the preview page; the customer then gets the survey",
    async (_name, ua) => {
      const direct = await issue();
      const confirm = await issue({ survey: "demo-confirm" });
      for (const link of [direct, confirm]) {
        for (const method of ["GET", "HEAD", "POST"]) {
          await expectPreview(await tap(link.id, { method, ua }), method);
        }
        await eventually(async () =>
          expect(await linkStatus(link.id)).toMatchObject({ status: "issued", previews: 3 }),
        );
      }

      const opened = await tap(direct.id);
      expect(opened.status).toBe(302);
      expect(opened.headers.get("Location")).toContain("SV_demo?");
      expect((await tap(confirm.id)).status).toBe(200); // the confirm page
      const confirmed = await tap(confirm.id, { method: "POST" });
      expect(confirmed.status).toBe(302);
      expect(confirmed.headers.get("Location")).toContain("SV_democonfirm?");
      // The customer's browser keeps its link.
      expect((await tap(confirm.id, { cookie: cookieFrom(confirmed) })).status).toBe(302);
    },
  );
});

describe("what a user-agent list cannot see (why the confirm page exists)", () => {
  it("a scanner with an ordinary browser's user agent is a person to the tap: only a confirm page keeps the link", async () => {
    const direct = await issue();
    expect((await tap(direct.id, { ua: ORDINARY_DESKTOP_CHROME })).status).toBe(302);
    expect((await linkStatus(direct.id)).status).toBe("opened");

    const confirm = await issue({ survey: "demo-confirm" });
    const shown = await tap(confirm.id, { ua: ORDINARY_DESKTOP_CHROME });
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain("Start the survey");
    expect((await linkStatus(confirm.id)).status).toBe("issued");
    expect((await tap(confirm.id, { method: "POST" })).status).toBe(302);
  });
});
