/**
 * The customer's language on the issue API: Qualtrics codes and app locales are accepted and
 * stored as Qualtrics' code, anything else is a 400 naming `language`; the code is carried to the
 * survey as `Q_Language` in every mode (never signed: it is not embedded data), and it is part of
 * the request an idempotent retry must repeat. (The mapping itself: test/unit/language.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { surveyRedirectUrl } from "../src/links/survey-link";
import { surveyConfig } from "./fixtures/survey";
import { api, cookieFrom, issue, linkRequest, tap, verifyServiceSignature } from "./helpers/api";

interface ErrorBody {
  error: { code: string; details?: { path: string; message: string }[] };
}

const post = (json: unknown, path = "/v1/links") => api(path, { method: "POST", json });

async function storedLanguage(id: string): Promise<string | null> {
  const res = await api(`/v1/links/${id}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { language: string | null }).language;
}

/** The survey link a first tap redirects to. */
async function landing(id: string): Promise<URL> {
  const res = await tap(id);
  expect(res.status).toBe(302);
  return new URL(res.headers.get("Location") ?? "");
}

/**
 * A few app locales and Qualtrics codes, and the code stored: the whole table, and every refused
 * spelling, is test/unit/language.test.ts (plain Node). Here, that the API applies it.
 */
const MAPPED: [string, string][] = [
  ["fr_CA", "FR-CA"],
  ["es-419", "ES"],
  ["PT-BR", "PT-BR"],
  ["zh-Hant", "ZH-T"],
  ["fil-PH", "TGL"],
];

/** Refused by the mapping (a string) or by the schema (not a string). */
const INVALID: unknown[] = ["klingon", "fr;q=1", "", 42, null];

describe("language on the issue API", () => {
  it("a batch of app locales and Qualtrics codes: each stored as Qualtrics' code", async () => {
    const res = await post(
      { links: MAPPED.map(([language]) => linkRequest({ language })) },
      "/v1/links/batch",
    );
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as {
      results: { status: number; link: { id: string } }[];
    };
    expect(results.map((r) => r.status)).toEqual(MAPPED.map(() => 201));
    const stored = await Promise.all(results.map((r) => storedLanguage(r.link.id)));
    expect(stored).toEqual(MAPPED.map(([, code]) => code));
  });

  it.each(INVALID)("%j is a 400 naming language", async (language) => {
    const res = await post(linkRequest({ language }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.details?.map((d) => d.path)).toEqual(["language"]);
  });

  it("in a batch, a bad language fails its item alone, naming language", async () => {
    const res = await post(
      { links: [linkRequest({ language: "pt-BR" }), linkRequest({ language: "Portuguese" })] },
      "/v1/links/batch",
    );
    const { results } = (await res.json()) as {
      results: { status: number; error?: ErrorBody["error"] }[];
    };
    expect(results.map((r) => r.status)).toEqual([201, 400]);
    expect(results[1]?.error?.details).toEqual([
      { path: "language", message: expect.stringContaining("Qualtrics language code") },
    ]);
  });

  it("a link issued without a language stores none and carries no Q_Language", async () => {
    const link = await issue();
    expect(await storedLanguage(link.id)).toBeNull();
    expect((await landing(link.id)).searchParams.has("Q_Language")).toBe(false);
  });
});

describe("language and idempotent retries", () => {
  it("the same locale spelled as its Qualtrics code is the same request; another language conflicts", async () => {
    const withoutLanguage = linkRequest();
    const request = { ...withoutLanguage, language: "fr-CA" };
    const first = await post(request);
    expect(first.status).toBe(201);
    const again = await post({ ...request, language: "FR-CA" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    expect((await post({ ...request, language: "FR" })).status).toBe(409);
    expect((await post(withoutLanguage)).status).toBe(409);
  });

  it("a request without a language still replays as before", async () => {
    const request = linkRequest();
    expect((await post(request)).status).toBe(201);
    expect((await post(request)).status).toBe(200);
    expect((await post({ ...request, language: "EN" })).status).toBe(409);
  });
});

describe("Q_Language on the survey link", () => {
  it("query mode: after the signed values; sig covers the values, not Q_Language", async () => {
    const link = await issue({ language: "es-419" });
    const url = await landing(link.id);
    const names = [...url.searchParams.keys()];
    expect(names.at(-1)).toBe("Q_Language");
    expect(url.searchParams.get("Q_Language")).toBe("ES");
    const { Q_Language: _, ...signed } = Object.fromEntries(url.searchParams);
    await verifyServiceSignature(signed);
    await expect(verifyServiceSignature({ ...signed, Q_Language: "ES" })).rejects.toThrow();
  });

  it("eed mode: beside Q_EED, outside it", async () => {
    const link = await issue({ survey: "demo-eed", language: "zh-Hant" });
    const url = await landing(link.id);
    expect([...url.searchParams.keys()]).toEqual(["Q_EED", "Q_Language"]);
    expect(url.searchParams.get("Q_Language")).toBe("ZH-T");
    const eed = JSON.parse(atob(url.searchParams.get("Q_EED") ?? "")) as Record<string, string>;
    expect(eed).not.toHaveProperty("Q_Language");
  });

  it("webservice mode: beside inv", async () => {
    const link = await issue({ survey: "demo-ws", language: "de-CH" });
    const url = await landing(link.id);
    expect(Object.fromEntries(url.searchParams)).toEqual({ inv: link.id, Q_Language: "DE" });
  });

  it("a re-open from the same browser carries it again", async () => {
    const link = await issue({ language: "pt-BR" });
    const first = await tap(link.id);
    const again = await tap(link.id, { cookie: cookieFrom(first) });
    expect(again.status).toBe(302);
    expect(new URL(again.headers.get("Location") ?? "").searchParams.get("Q_Language")).toBe(
      "PT-BR",
    );
  });

  it("replaces a Q_Language configured on the survey's own link, which stays when the invite has none", () => {
    const survey = surveyConfig({
      url: "https://acme.qualtrics.com/jfe/form/SV_1?Q_Language=EN&note=x",
      mode: "webservice",
    });
    const source = { customerId: "c", transactionId: "t", trigger: "x", embeddedData: {}, sig: "" };
    expect(surveyRedirectUrl(survey, "ID", { ...source, language: "FR" })).toBe(
      "https://acme.qualtrics.com/jfe/form/SV_1?note=x&inv=ID&Q_Language=FR",
    );
    expect(surveyRedirectUrl(survey, "ID", source)).toBe(
      "https://acme.qualtrics.com/jfe/form/SV_1?Q_Language=EN&note=x&inv=ID",
    );
  });
});
