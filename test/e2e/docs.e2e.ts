/**
 * The API's description as adopters meet it, against `wrangler dev`: `/openapi.json` passes a
 * maintained OpenAPI validator (@readme/openapi-parser: the 3.1 schema, every `$ref`, path
 * parameters, unique operation ids), and `/docs` renders it in Chromium (operations, a parameter
 * table, a schema, the scopes) without a single request to another host. Screenshots go to
 * test-output/.
 */
import { compileErrors, validate } from "@readme/openapi-parser";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, launchChromium, screenshotPath, startDevServer } from "./harness";

let server: DevServer;
let browser: Browser;

interface Spec {
  paths: Record<string, Record<string, { operationId: string; summary: string }>>;
}

beforeAll(async () => {
  server = await startDevServer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Every request the page makes, and every script error or console error (CSP reports there). */
function watch(page: Page) {
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  return { requests, errors };
}

describe("/openapi.json", () => {
  it("is valid OpenAPI 3.1 for a maintained validator, without warnings", async () => {
    const spec = await (await fetch(`${server.url}/openapi.json`)).json();
    const result = await validate(spec);
    expect(result.valid ? "valid" : compileErrors(result)).toBe("valid");
    expect(result.warnings).toEqual([]);
    expect(result.specification).toBe("OpenAPI");
  });
});

describe("/docs in Chromium", () => {
  it("renders every operation, a parameter table, a schema and the scopes, all from this origin", async () => {
    const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as Spec;
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const { requests, errors } = watch(page);
    await page.goto(`${server.url}/docs`);
    await page.locator('[id="tag/Links/operation/issueLink"]').waitFor();

    // Every operation of the document has its section, titled with its summary.
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const tag = await page.evaluate(
          (id) => document.querySelector(`[id$="/operation/${id}"]`)?.textContent ?? "",
          op.operationId,
        );
        expect(tag, `${method} ${path}`).toContain(op.summary);
      }
    }

    // The stats query parameters, as a table with their descriptions.
    const stats = page.locator('[id="tag/Stats/operation/getStats"]');
    await expect.poll(() => stats.textContent()).toContain("query Parameters");
    for (const name of ["from", "to", "survey", "trigger", "channel", "groupBy", "format"]) {
      await expect
        .poll(() => stats.locator("td", { hasText: name }).count(), name)
        .toBeGreaterThan(0);
    }
    expect(await stats.textContent()).toContain("First issue day (UTC), inclusive");

    // The LinkRequest schema of POST /v1/links, with its fields and rules.
    const issue = page.locator('[id="tag/Links/operation/issueLink"]');
    const issueText = (await issue.textContent()) ?? "";
    for (const field of ["survey", "customerId", "transactionId", "trigger", "embeddedData"]) {
      expect(issueText).toContain(field);
    }
    expect(issueText).toContain("[ 1 .. 128 ] characters");

    // The scope it needs: in words, as the extension, and as the authorization.
    expect(issueText).toContain("Requires an API key with the links:write scope");
    expect(issueText).toContain("required-scope");
    await issue.getByText("Authorizations:").click();
    await expect.poll(() => issue.textContent()).toContain("links:write");
    const revoke =
      (await page.locator('[id="tag/Links/operation/revokeLink"]').textContent()) ?? "";
    expect(revoke).toContain("links:write");
    const reconcile =
      (await page.locator('[id="tag/Reconcile/operation/runReconcile"]').textContent()) ?? "";
    expect(reconcile).toContain("Requires an API key with the admin scope");

    // The web-service route names its header.
    const data = page.locator('[id="tag/Web-service/operation/getInviteData"]');
    expect(await data.textContent()).toContain("X-Webservice-Secret");

    await page.screenshot({ path: screenshotPath("docs"), fullPage: false });
    await issue.scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath("docs-issue-link") });

    const origin = new URL(server.url).origin;
    const elsewhere = requests.filter(
      (url) =>
        !url.startsWith("blob:") && !url.startsWith("data:") && new URL(url).origin !== origin,
    );
    expect(elsewhere).toEqual([]);
    expect(requests).toContain(`${server.url}/openapi.json`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("GET / leads an operator to the reference", async () => {
    const page = await browser.newPage();
    const { requests, errors } = watch(page);
    await page.goto(server.url);
    expect(await page.locator("h1").textContent()).toBe("invite-edge");
    await page.getByRole("link", { name: "API reference" }).click();
    await page.waitForURL(`${server.url}/docs`);
    await page.locator('[id="tag/Links/operation/issueLink"]').waitFor();
    expect(requests.every((url) => !/^https?:/.test(url) || url.startsWith(server.url))).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});
