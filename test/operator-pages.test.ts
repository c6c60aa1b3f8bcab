/**
 * The pages for operators, over HTTP: `GET /` says what the service is and links to the reference,
 * the document, the dashboard and the health check (each link answers); `/docs` is the Redoc
 * reference served from this origin with a policy that allows no other host. (What /docs renders
 * in a browser: test/e2e/docs.e2e.ts.)
 */
import { describe, expect, it } from "vitest";
import { api } from "./helpers/api";

/** The `href`s and `src`s of a page. */
const urls = (html: string) => [...html.matchAll(/\b(?:href|src)="([^"]*)"/g)].map((m) => m[1]);

describe("GET /", () => {
  it("is a page for operators, not the customers' 'link not found' page", async () => {
    const res = await api("/", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    expect(res.headers.get("X-Robots-Tag")).toContain("noindex");
    const html = await res.text();
    expect(html).toContain("<h1>invite-edge</h1>");
    expect(html).not.toContain("Link not found");
    expect(html).not.toMatch(/<script/i);
  });

  it("links to /docs, /openapi.json, /dashboard and /healthz, and each link answers 200", async () => {
    const html = await (await api("/", { key: null })).text();
    const links = urls(html).filter((url) => url?.startsWith("/"));
    expect(links).toEqual(
      expect.arrayContaining(["/docs", "/openapi.json", "/dashboard", "/healthz"]),
    );
    for (const link of links) {
      const res = await api(link ?? "", { key: null });
      expect(res.status, link).toBe(200);
    }
    expect(urls(html).filter((url) => !url?.startsWith("/"))).toEqual([]);
  });
});

describe("GET /docs", () => {
  it("loads Redoc and its options from this origin only, under a this-origin policy", async () => {
    const res = await api("/docs", { key: null });
    expect(res.status).toBe(200);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "connect-src 'self'",
      "img-src 'self' data:",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/https?:|\*|unsafe-eval/);
    const html = await res.text();
    expect(urls(html).every((url) => url?.startsWith("/"))).toBe(true);
    expect(html).toContain('<script src="/docs/redoc.standalone.js" defer></script>');

    const bundle = await api("/docs/redoc.standalone.js", { key: null });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    const source = await bundle.text();
    expect(source.length).toBeGreaterThan(500_000);
    expect(source).toContain("Redoc");
    expect(source).not.toContain("cdn.redoc.ly");

    const init = await (await api("/docs.js", { key: null })).text();
    expect(init).toContain('Redoc.init("/openapi.json"');
  });
});
