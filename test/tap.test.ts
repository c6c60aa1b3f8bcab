import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getConfig } from "../src/config/config";
import { verifyLinkValues } from "../src/tokens/link-signature";
import { api, cookieFrom, eventually, issue, linkStatus, PHONE_UA, tap } from "./helpers/api";
import { ledgerOf } from "./helpers/ledger";
import { clickOutcomes, tokenAsIssuedBefore } from "./security/helpers";

const TAP_HEADERS = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-robots-tag": "noindex, nofollow",
};

function expectTapHeaders(res: Response) {
  for (const [name, value] of Object.entries(TAP_HEADERS))
    expect(res.headers.get(name)).toBe(value);
}

async function expectPage(res: Response, status: number, text: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
  expectTapHeaders(res);
  const html = await res.text();
  expect(html).toContain("<!doctype html>");
  expect(html).toContain('name="viewport"');
  expect(html).toContain(text);
  return html;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the first tap", () => {
  it("claims, sets a cookie bound to the link and redirects to the survey with signed values", async () => {
    const link = await issue({
      customerId: "cust & co/1",
      embeddedData: { venue: "Arena #1 & Co", event: "Finals?", seat: 12 },
    });
    const res = await tap(link.id);
    expect(res.status).toBe(302);
    expectTapHeaders(res);
    const location = new URL(res.headers.get("Location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(
      "https://example.qualtrics.com/jfe/form/SV_demo",
    );
    const params = Object.fromEntries(location.searchParams);
    const { sig, ...values } = params;
    expect(values).toEqual({
      venue: "Arena #1 & Co",
      event: "Finals?",
      seat: "12",
      customer_id: "cust & co/1",
      transaction_id: expect.any(String),
      trigger: "ticket_scanned",
      inv: link.id,
    });
    expect(await verifyLinkValues(getConfig(env), values, sig ?? "")).toBe(true);
    expect(await verifyLinkValues(getConfig(env), { ...values, seat: "1" }, sig ?? "")).toBe(false);

    const cookie = res.headers.get("Set-Cookie") ?? "";
    expect(cookie).toMatch(/^ie_claim=[A-Za-z0-9_-]+;/);
    for (const attribute of ["HttpOnly", "Secure", "SameSite=Lax", `Path=/s/${link.id}`]) {
      expect(cookie).toContain(attribute);
    }
  });

  it("in development over http from a phone on the local network, the claim cookie is not Secure", async () => {
    const overHttp = async (origin: string) => {
      const link = await issue();
      const res = await SELF.fetch(`${origin}/s/${link.id}`, {
        headers: { "User-Agent": PHONE_UA, "CF-Connecting-IP": "192.168.1.23" },
        redirect: "manual",
      });
      expect(res.status).toBe(302);
      return res.headers.get("Set-Cookie") ?? "";
    };
    const lan = await overHttp("http://192.168.1.10:8787");
    expect(lan).toContain("HttpOnly");
    expect(lan).not.toContain("Secure");
    // Loopback keeps it: browsers accept Secure cookies from http://localhost.
    expect(await overHttp("http://localhost:8787")).toContain("Secure");
  });

  it("records the open in the ledger; KV gets a consumed mark only once another browser is refused", async () => {
    const link = await issue();
    expect(await env.LINKS.get(link.id)).toBeNull(); // issuing writes nothing to KV
    expect((await tap(link.id)).status).toBe(302);
    expect(await clickOutcomes(link.id)).toEqual(["opened"]);
    expect(await env.LINKS.get(link.id)).toBeNull(); // a link tapped once costs no KV write
    expect((await tap(link.id, { ip: "198.51.100.61" })).status).toBe(410);
    await eventually(async () => {
      const { metadata } = await env.LINKS.getWithMetadata<{ consumedAt?: number }>(link.id);
      expect(metadata?.consumedAt).toBeGreaterThan(0);
    });
  });

  it("lets exactly one of 50 concurrent taps win", async () => {
    const link = await issue();
    const responses = await Promise.all(Array.from({ length: 50 }, () => tap(link.id)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 302)).toHaveLength(1);
    expect(statuses.filter((s) => s === 410)).toHaveLength(49);
    const opened = await ledgerOf(link.id)
      .prepare("SELECT COUNT(*) AS n FROM click_events WHERE invite_id = ? AND outcome = 'opened'")
      .bind(link.id)
      .first<{ n: number }>();
    expect(opened?.n).toBe(1);
    await eventually(async () => expect((await linkStatus(link.id)).blocked).toBe(49));
  });

  it("ignores query parameters on the tap: they never reach the redirect", async () => {
    const link = await issue();
    const res = await tap(`${link.id}?venue=evil&inv=other&next=https://evil.example`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location") ?? "");
    expect(location.host).toBe("example.qualtrics.com");
    expect(location.searchParams.get("venue")).toBe("Arena North");
    expect(location.searchParams.get("inv")).toBe(link.id);
    expect(location.searchParams.has("next")).toBe(false);
  });

  it("counts a generic HTTP client such as curl as a tap, not a preview", async () => {
    const link = await issue();
    expect((await tap(link.id, { ua: "curl/8.5.0" })).status).toBe(302);
  });
});

describe("later taps", () => {
  it("re-open in the same browser (cookie) until expiry, counted as re-opens", async () => {
    const link = await issue();
    const first = await tap(link.id);
    const cookie = cookieFrom(first);
    for (let i = 0; i < 2; i++) {
      const again = await tap(link.id, { cookie });
      expect(again.status).toBe(302);
      expect(again.headers.get("Location")).toBe(first.headers.get("Location"));
    }
    await eventually(async () => expect((await linkStatus(link.id)).reopens).toBe(2));
  });

  it("re-open in the same browser until the link expires, and not after", async () => {
    const link = await issue({ ttlSeconds: 60 });
    const first = await tap(link.id);
    expect(first.status).toBe(302);
    const cookie = cookieFrom(first);
    const expiresAt = Date.parse(link.expiresAt);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(expiresAt - 1_000);
    const before = await tap(link.id, { cookie });
    expect(before.status).toBe(302);
    expect(before.headers.get("Location")).toBe(first.headers.get("Location"));
    vi.setSystemTime(expiresAt + 1_000);
    await expectPage(await tap(link.id, { cookie }), 410, "expired");
    vi.useRealTimers();
    await eventually(async () => expect((await linkStatus(link.id)).reopens).toBe(1));
  });

  it("are refused from any other browser with the already-used page, counted as blocked", async () => {
    const link = await issue();
    expect((await tap(link.id)).status).toBe(302);
    const html = await expectPage(await tap(link.id), 410, "already been used");
    expect(html).not.toContain(link.id);
    expect(html).not.toContain("Arena North");
    await eventually(async () => expect((await linkStatus(link.id)).blocked).toBe(1));
  });

  it("are refused with a cookie for another link or a forged cookie", async () => {
    const a = await issue();
    const b = await issue();
    const cookieA = cookieFrom(await tap(a.id));
    expect((await tap(b.id)).status).toBe(302);
    expect((await tap(b.id, { cookie: cookieA })).status).toBe(410);
    expect((await tap(b.id, { cookie: "ie_claim=forged" })).status).toBe(410);
    expect((await tap(b.id, { cookie: `ie_claim=${"A".repeat(43)}` })).status).toBe(410);
  });

  it("refuses from the ledger when KV does not carry the consumed mark (yet, or here)", async () => {
    const link = await issue();
    expect((await tap(link.id)).status).toBe(302);
    expect((await tap(link.id, { ip: "198.51.100.62" })).status).toBe(410);
    await eventually(async () => {
      const { metadata } = await env.LINKS.getWithMetadata(link.id);
      expect(metadata).toBeTruthy();
    });
    // Another location may not see the mark yet: without it, the ledger refuses and marks again.
    await env.LINKS.delete(link.id);
    expect((await tap(link.id, { ip: "198.51.100.63" })).status).toBe(410);
    await eventually(async () => expect(await env.LINKS.get(link.id)).not.toBeNull());
    await eventually(async () => expect((await linkStatus(link.id)).blocked).toBe(2));
  });
});

describe("pasted links", () => {
  it("an id followed by . ) , or / gets a 308 to the link's own address, where the tap goes on as usual", async () => {
    const link = await issue();
    for (const tail of [".", ")", ",", "/", ").", "/)"]) {
      const res = await tap(`${link.id}${tail}`);
      expect(res.status, tail).toBe(308);
      expect(res.headers.get("Location"), tail).toBe(`/s/${link.id}`);
      expectTapHeaders(res);
    }
    // Nothing was claimed on the way: the redirected tap is the first.
    expect((await linkStatus(link.id)).status).toBe("issued");
    const first = await tap(link.id);
    expect(first.status).toBe(302);
    // The claim cookie's path is the link's own: the redirect is what brings it back.
    expect(first.headers.get("Set-Cookie")).toContain(`Path=/s/${link.id};`);
    expect((await tap(link.id, { cookie: cookieFrom(first) })).status).toBe(302);
  });
});

describe("previews and scanners", () => {
  it("HEAD gets a 200 neutral preview, never a claim or a cookie", async () => {
    const link = await issue();
    const head = await tap(link.id, { method: "HEAD" });
    expect(head.status).toBe(200);
    expectTapHeaders(head);
    expect(head.headers.get("Set-Cookie")).toBeNull();
    expect((await tap(link.id)).status).toBe(302);
    await eventually(async () => expect((await linkStatus(link.id)).previews).toBe(1));
  });

  it.each([
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.23.20.0",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
  ])("%s gets the preview page and consumes nothing", async (ua) => {
    const link = await issue();
    const html = await expectPage(await tap(link.id, { ua }), 200, "Survey invitation");
    expect(html).toContain('content="noindex');
    const status = await linkStatus(link.id);
    expect(status.status).toBe("issued");
    expect((await tap(link.id)).status).toBe(302);
  });
});

describe("modes", () => {
  it("webservice: only inv on the link; the data endpoint answers the survey with the secret", async () => {
    const link = await issue({ survey: "demo-ws", customerId: "cust-9" });
    const res = await tap(link.id);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location") ?? "");
    expect(location.href).toBe(`https://example.qualtrics.com/jfe/form/SV_demows?inv=${link.id}`);

    const path = `/v1/invites/${link.id}/data`;
    const data = await api(path, {
      key: null,
      headers: { "X-Webservice-Secret": "dev-webservice-secret" },
    });
    expect(data.status).toBe(200);
    expect(await data.json()).toEqual({
      venue: "Arena North",
      event: "Finals",
      seat: "B12",
      customer_id: "cust-9",
      transaction_id: expect.any(String),
      trigger: "ticket_scanned",
      inv: link.id,
    });
    const wrong = await api(path, { key: null, headers: { "X-Webservice-Secret": "nope" } });
    expect(wrong.status).toBe(401);
    expect((await api(path, { key: null })).status).toBe(401);
    const unknown = await api("/v1/invites/AAAAAAAAAAAAAAAAAAAAAA/data", {
      key: null,
      headers: { "X-Webservice-Secret": "dev-webservice-secret" },
    });
    expect(unknown.status).toBe(404);
  });

  it("confirm: GET shows a page with a button; only its POST claims", async () => {
    const link = await issue({ survey: "demo-confirm" });
    const html = await expectPage(await tap(link.id), 200, "Start the survey");
    expect(html).toContain(`<form method="post" action="/s/${link.id}">`);
    expect((await linkStatus(link.id)).status).toBe("issued");
    const posted = await tap(link.id, { method: "POST" });
    expect(posted.status).toBe(302);
    expect(posted.headers.get("Location")).toContain("SV_democonfirm");
    expect(posted.headers.get("Set-Cookie")).toContain("ie_claim=");
    expect((await tap(link.id)).status).toBe(410);
    expect((await tap(link.id, { cookie: cookieFrom(posted) })).status).toBe(302);
  });
});

describe("dead links", () => {
  it("unknown and malformed ids get the 404 page", async () => {
    await expectPage(await tap("AAAAAAAAAAAAAAAAAAAAAA"), 404, "find this survey link");
    await expectPage(await tap("short"), 404, "find this survey link");
    await expectPage(await tap("%2E%2E%2Fetc%2Fpasswd"), 404, "find this survey link");
  });

  it("values edited in storage are never honoured: their sig fails, not found, the invite stays unclaimed", async () => {
    const link = await issue();
    const row = await ledgerOf(link.id)
      .prepare("SELECT embedded_data, sig, token FROM invites WHERE id = ?")
      .bind(link.id)
      .first<{ embedded_data: string; sig: string | null; token: string | null }>();
    // The row keeps the values' signature, not a whole token.
    expect(row?.sig).toMatch(/^[\w-]+\.\.[\w-]+$/);
    expect(row?.token).toBeNull();
    const edited = { ...JSON.parse(row?.embedded_data ?? "{}"), venue: "Tampered" };
    await ledgerOf(link.id)
      .prepare("UPDATE invites SET embedded_data = ? WHERE id = ?")
      .bind(JSON.stringify(edited), link.id)
      .run();
    await expectPage(await tap(link.id), 404, "find this survey link");
    expect((await linkStatus(link.id)).status).toBe("issued");
  });

  it("a token edited in storage is never honoured: not found, and the invite stays unclaimed", async () => {
    const link = await issue();
    // A link issued while the ledger kept whole tokens.
    const token = await tokenAsIssuedBefore(link.id);
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(atob((payload ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    claims.embeddedData.venue = "Tampered";
    const edited = btoa(JSON.stringify(claims))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    await ledgerOf(link.id)
      .prepare("UPDATE invites SET token = ? WHERE id = ?")
      .bind(`${header}.${edited}.${signature}`, link.id)
      .run();
    await expectPage(await tap(link.id), 404, "find this survey link");
    expect((await linkStatus(link.id)).status).toBe("issued");
  });

  it("an expired link gets the 410 expired page", async () => {
    const link = await issue({ ttlSeconds: 60 });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 120_000);
    await expectPage(await tap(link.id), 410, "expired");
    expect((await linkStatus(link.id)).status).toBe("expired");
  });

  it("an expired link gets the 410 expired page when the ledger says so", async () => {
    const link = await issue({ ttlSeconds: 60 });
    await ledgerOf(link.id)
      .prepare("UPDATE invites SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, link.id)
      .run();
    await expectPage(await tap(link.id), 410, "expired");
  });

  it("a live invite opens from its ledger row alone: KV holds nothing for it", async () => {
    const link = await issue();
    expect(await env.LINKS.get(link.id)).toBeNull();
    const res = await tap(link.id);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("Location") ?? "");
    const { sig, ...values } = Object.fromEntries(location.searchParams);
    expect(values.inv).toBe(link.id);
    expect(await verifyLinkValues(getConfig(env), values, sig ?? "")).toBe(true);
    expect((await tap(link.id)).status).toBe(410);
  });
});

describe("phones", () => {
  it("pages are small, mobile-first and free of invite data", async () => {
    const link = await issue({ customerId: "secret-customer" });
    await tap(link.id, { ua: PHONE_UA });
    const html = await expectPage(await tap(link.id), 410, "already been used");
    expect(html.length).toBeLessThan(4096);
    expect(html).not.toContain("secret-customer");
    expect(html).not.toMatch(/[{[]"/);
  });
});
