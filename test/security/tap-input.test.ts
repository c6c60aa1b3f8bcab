/**
 * What a tap request carries cannot steer the redirect: the target and every value on it come from
 * configuration and the signed token. Malformed ids (too long, `../`, percent-encoded junk, control
 * characters) get the 404 page without touching KV or D1, and nothing of the request is reflected.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cookieFrom, issue, ORIGIN, PHONE_UA, tap, WEBSERVICE_SECRET } from "../helpers/api";
import { callWorker, type TestEnv } from "./helpers";

/** Bindings that fail the test if a malformed id reaches them. */
function untouchableStores(): Partial<TestEnv> {
  const trap = (name: string) =>
    new Proxy(
      {},
      {
        get(_target, property) {
          throw new Error(`${name}.${String(property)} was used for a malformed id`);
        },
      },
    );
  return { DB: trap("DB") as D1Database, LINKS: trap("LINKS") as KVNamespace };
}

/** A raw path, sent as is (the URL parser would resolve `../` and strip tabs and newlines). */
async function tapPath(rawPath: string): Promise<Response> {
  const request = new Request(`${ORIGIN}${rawPath}`, {
    headers: { "User-Agent": PHONE_UA, "CF-Connecting-IP": "192.0.2.20" },
    redirect: "manual",
  });
  return callWorker(request, untouchableStores());
}

async function expectNotFoundPage(res: Response, mustNotReflect: string[] = []) {
  expect(res.status).toBe(404);
  expect(res.headers.get("Content-Type")).toContain("text/html");
  expect(res.headers.get("Location")).toBeNull();
  expect(res.headers.get("Set-Cookie")).toBeNull();
  const html = await res.text();
  expect(html).toContain("Link not found");
  for (const text of mustNotReflect) expect(html).not.toContain(text);
}

describe("query parameters on /s/:id", () => {
  it("never reach the Location: the redirect is the same as without them", async () => {
    const link = await issue();
    const injected =
      "?customer_id=evil&transaction_id=evil&trigger=evil&inv=evil&sig=evil&venue=evil" +
      "&seat=evil&redirect=https%3A%2F%2Fevil.example&url=https://evil.example&next=//evil.example";
    const first = await tap(`${link.id}${injected}`);
    expect(first.status).toBe(302);
    const location = first.headers.get("Location") ?? "";
    const reopened = await tap(link.id, { cookie: cookieFrom(first) });
    expect(reopened.headers.get("Location")).toBe(location);

    const target = new URL(location);
    expect(target.origin).toBe("https://example.qualtrics.com");
    expect(target.pathname).toBe("/jfe/form/SV_demo");
    expect(location).not.toContain("evil");
    expect(target.searchParams.get("customer_id")).toBe("customer-42");
    expect(target.searchParams.get("venue")).toBe("Arena North");
    expect(target.searchParams.get("inv")).toBe(link.id);
    expect([...target.searchParams.keys()].sort()).toEqual(
      ["customer_id", "event", "inv", "seat", "sig", "transaction_id", "trigger", "venue"].sort(),
    );
  });

  it("duplicate and exotic parameters change nothing either", async () => {
    const link = await issue();
    const res = await tap(`${link.id}?inv=a&inv=b&__proto__[x]=1&constructor=1&%00=1&sig`);
    expect(res.status).toBe(302);
    const target = new URL(res.headers.get("Location") ?? "");
    expect(target.searchParams.getAll("inv")).toEqual([link.id]);
    expect(res.headers.get("Location")).not.toMatch(/proto|constructor|%00/);
  });

  it("a confirm POST with form fields cannot change the values", async () => {
    const link = await issue({ survey: "demo-confirm" });
    const res = await SELF.fetch(`${ORIGIN}/s/${link.id}?venue=evil`, {
      method: "POST",
      headers: {
        "User-Agent": PHONE_UA,
        "CF-Connecting-IP": "192.0.2.21",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "customer_id=evil&venue=evil&url=https%3A%2F%2Fevil.example",
      redirect: "manual",
    });
    expect(res.status).toBe(302);
    const location = res.headers.get("Location") ?? "";
    expect(new URL(location).origin).toBe("https://example.qualtrics.com");
    expect(location).not.toContain("evil");
    expect(new URL(location).searchParams.get("venue")).toBe("Arena North");
  });

  it("a fragment or a Referer never matters", async () => {
    const link = await issue();
    const res = await SELF.fetch(`${ORIGIN}/s/${link.id}#https://evil.example`, {
      headers: {
        "User-Agent": PHONE_UA,
        Referer: "https://evil.example/",
        "X-Forwarded-Host": "evil.example",
        Host: "evil.example",
      },
      redirect: "manual",
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).not.toContain("evil");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
  });
});

describe("malformed ids get the 404 page and never reach KV or D1", () => {
  const valid = "AAAAAAAAAAAAAAAAAAAAAA"; // 22 characters: well formed, but never issued

  it("too long or too short", async () => {
    for (const id of [`${valid}A`, "A".repeat(1_000), "A".repeat(8_000), valid.slice(1), "x"]) {
      await expectNotFoundPage(await tapPath(`/s/${id}`), id.length > 8 ? [id] : []);
    }
  });

  it("with ../ (raw or percent-encoded) and other path tricks", async () => {
    const paths = [
      "/s/..%2Fv1%2Flinks",
      "/s/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "/s/..%5C..%5Cwindows",
      "/s/%252e%252e%252f",
      `/s/${valid.slice(0, 19)}%2F..`,
      `/s/${valid.slice(0, 20)}..`,
      `/s/${valid.slice(0, 20)}).`,
      `/s/${valid}/..`,
      `/s/${valid}/x`,
      `/s/${valid}%2Fx`,
      `/s/.${valid}`,
      "/s/",
    ];
    for (const path of paths) await expectNotFoundPage(await tapPath(path), ["passwd", "..%"]);
  });

  it("a well-formed id with pasted punctuation after it: 308 to its own address, nothing read", async () => {
    for (const tail of [".", ")", ",", "/", "%2F", "%29", ").", "),", "/.", "//", "...)"]) {
      const res = await tapPath(`/s/${valid}${tail}`);
      expect(res.status, tail).toBe(308);
      expect(res.headers.get("Location"), tail).toBe(`/s/${valid}`);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(res.headers.get("Set-Cookie")).toBeNull();
    }
  });

  it("with percent-encoded junk (NUL, slash, space, malformed, overlong UTF-8)", async () => {
    const ids = [
      `${valid.slice(0, 21)}%00`,
      `${valid.slice(0, 19)}%20%20%20`,
      `${valid.slice(0, 21)}%`,
      `${valid.slice(0, 20)}%ZZ`,
      `${valid.slice(0, 20)}%C0%AF`,
      `${valid.slice(0, 20)}%E0%A4%A`,
      `${valid.slice(0, 21)}%F0%9F%98%80`,
      `${valid.slice(0, 21)}%2B`,
      `${valid.slice(0, 21)}%3D`,
    ];
    for (const id of ids) await expectNotFoundPage(await tapPath(`/s/${id}`));
  });

  it("with control characters (CR, LF, NUL, DEL, tab) including a CRLF header injection", async () => {
    const suffixes = ["%0D%0ASet-Cookie:%20pwn=1", "%0A", "%0D", "%00", "%7F", "%09", "%1B[31m"];
    for (const suffix of suffixes) {
      const res = await tapPath(`/s/${valid}${suffix}`);
      expect(res.headers.get("pwn")).toBeNull();
      await expectNotFoundPage(res, ["pwn", "Set-Cookie"]);
    }
  });

  it("on the API too: a malformed id is a JSON 404, never a 500", async () => {
    for (const id of ["A".repeat(5_000), "..%2F..%2F", "%00", `${valid}%0D%0A`]) {
      const status = await SELF.fetch(`${ORIGIN}/v1/links/${id}`, {
        headers: { Authorization: "Bearer dev-issuer-key" },
      });
      expect(status.status).toBe(404);
      // No route matches (not_found), or the route knows no such link (unknown_or_purged).
      const { error } = (await status.json()) as { error: { code: string } };
      expect(["not_found", "unknown_or_purged"]).toContain(error.code);
      const data = await SELF.fetch(`${ORIGIN}/v1/invites/${id}/data`, {
        headers: { "X-Webservice-Secret": WEBSERVICE_SECRET },
      });
      expect(data.status).toBe(404);
    }
  });

  it("an id with an unreserved character percent-encoded names the same link (RFC 3986 §6.2.2.2)", async () => {
    const link = await issue();
    const encoded = `%${link.id.charCodeAt(0).toString(16).toUpperCase()}${link.id.slice(1)}`;
    const res = await tap(encoded);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("Location") ?? "").searchParams.get("inv")).toBe(link.id);
  });
});
