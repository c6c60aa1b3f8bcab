/**
 * Reconciliation for eed-mode surveys, and responses that lack issued values, against the fake
 * Qualtrics: responses are recorded from the landing URL a tap redirected to, which the fake reads
 * as Qualtrics does (each field the survey flow declares, from `Q_EED`). Completions and tamper
 * flags work as in query mode; a value a response lacks is not tampering but a `field_missing`
 * notice telling the survey owner which fields to declare.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readEed, withEed } from "./fixtures/eed";
import { TRICKY_VALUES } from "./fixtures/link-values";
import { issue, tap } from "./helpers/api";
import {
  addResponses,
  DEMO_FIELDS,
  declareEmbeddedData,
  type Fake,
  fakeState,
  INVITE_VALUES,
  inviteRows,
  reconcileNow,
  resetLedger,
  startFake,
  stopFakes,
  webserviceValues,
} from "./helpers/reconcile";

beforeEach(resetLedger);
afterEach(stopFakes);

const FIELDS = DEMO_FIELDS;
const INVITE_FIELDS = [...INVITE_VALUES, "sig"];

/** The survey URL a first tap lands on. */
async function landingUrl(id: string): Promise<string> {
  const res = await tap(id);
  expect(res.status).toBe(302);
  return res.headers.get("Location") ?? "";
}

/** The stamps the fake applied, by invite id. */
async function stampsByInvite(fake: Fake): Promise<Map<string, Record<string, string>>> {
  const { updatesApplied } = await fakeState(fake);
  return new Map(updatesApplied.map((u) => [u.embeddedData.inv ?? "", u.embeddedData]));
}

describe("eed mode", () => {
  it("completes invites from responses recorded off Q_EED, flags edited and forged ones, stamps the issued values", async () => {
    // The survey flow declares what configuration.md lists (startFake's default).
    const fake = await startFake({ pollsToComplete: 1 });
    const [intact, unicode, edited, forged] = await Promise.all([
      issue({ survey: "demo-eed" }),
      issue({
        survey: "demo-eed",
        customerId: "clé 👩🏽‍🚀",
        embeddedData: {
          venue: TRICKY_VALUES.rightToLeft,
          event: TRICKY_VALUES.emoji,
          seat: TRICKY_VALUES.combining,
        },
      }),
      issue({ survey: "demo-eed" }),
      issue({ survey: "demo-eed" }),
    ]);
    const urls = await Promise.all(
      [intact, unicode, edited, forged].map((l) => landingUrl(l?.id ?? "")),
    );
    const [intactUrl = "", unicodeUrl = "", editedUrl = "", forgedUrl = ""] = urls;
    const forgedValues = readEed(forgedUrl);
    await addResponses(fake, "SV_demoeed", [
      { landingUrl: intactUrl },
      { landingUrl: unicodeUrl },
      { landingUrl: withEed(editedUrl, { ...readEed(editedUrl), venue: "VIP Lounge" }) },
      {
        landingUrl: withEed(forgedUrl, {
          ...forgedValues,
          sig: `${forgedValues.sig?.slice(0, -4)}AAAA`,
        }),
      },
    ]);

    // The fake recorded exactly what the link carried, emoji, RTL marks and accents included.
    const recorded = (await fakeState(fake)).surveys.SV_demoeed?.responses ?? [];
    expect(recorded[1]?.embeddedData).toEqual(readEed(unicodeUrl));
    expect(recorded[1]?.embeddedData).toMatchObject({
      venue: TRICKY_VALUES.rightToLeft,
      event: TRICKY_VALUES.emoji,
      customer_id: "clé 👩🏽‍🚀",
    });

    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ status: "ok", completions: 4, tampered: 2, stamped: 4 });
    expect(run.notices).toEqual([]);
    const stamps = await stampsByInvite(fake);
    expect(stamps.get(intact?.id ?? "")?.invite_tampered).toBe("0");
    expect(stamps.get(unicode?.id ?? "")).toMatchObject({
      invite_tampered: "0",
      venue: TRICKY_VALUES.rightToLeft,
      seat: TRICKY_VALUES.combining,
    });
    expect(stamps.get(edited?.id ?? "")).toMatchObject({
      invite_tampered: "1",
      venue: "Arena North",
    });
    expect(stamps.get(forged?.id ?? "")?.invite_tampered).toBe("1");
    const rows = await inviteRows([intact, unicode, edited, forged].map((l) => l?.id ?? ""));
    expect(rows.every((r) => r.completed_at !== null)).toBe(true);
  });
});

describe("responses lacking issued values", () => {
  it("are not tampered: the run names the fields to declare, per survey, and the stamp writes them", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const links = await Promise.all([1, 2, 3, 4].map(() => issue({ survey: "demo-eed" })));
    const ws = await issue({ survey: "demo-ws" });
    const [plain = "", stripped = "", strippedAndEdited = "", signed = ""] = await Promise.all(
      links.map((l) => landingUrl(l.id)),
    );
    await tap(ws.id);
    const without = (url: string, name: string) =>
      Object.fromEntries(Object.entries(readEed(url)).filter(([k]) => k !== name));
    await addResponses(fake, "SV_demoeed", [
      { landingUrl: plain },
      // The respondent removed venue from Q_EED: still not tampering, nothing false was recorded.
      { landingUrl: withEed(stripped, without(stripped, "venue")) },
      // Removing one value does not excuse changing another.
      {
        landingUrl: withEed(strippedAndEdited, {
          ...without(strippedAndEdited, "venue"),
          event: "Semi-final",
        }),
      },
      { landingUrl: signed },
    ]);
    // A web-service survey whose Web Service element does not map seat.
    const { seat: _, ...mapped } = await webserviceValues(ws.id);
    await addResponses(fake, "SV_demows", [{ embeddedData: mapped }]);

    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ status: "ok", completions: 5, tampered: 1, stamped: 5 });
    const notices = [...run.notices].sort((a, b) => ((a.survey ?? "") < (b.survey ?? "") ? -1 : 1));
    expect(notices).toEqual([
      {
        survey: "demo-eed",
        code: "field_missing",
        responses: 2,
        fields: ["venue"],
        message: expect.stringContaining("venue"),
      },
      {
        survey: "demo-ws",
        code: "field_missing",
        responses: 1,
        fields: ["seat"],
        message: expect.stringContaining("Web Service"),
      },
    ]);
    expect(notices[0]?.message).toContain("survey flow");
    const rows = await inviteRows([...links.map((l) => l.id), ws.id]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.tampered]))).toEqual(
      Object.fromEntries([...links, ws].map((l) => [l.id, l === links[2] ? 1 : 0])),
    );
    // The stamp writes the values the responses lacked.
    const stamps = await stampsByInvite(fake);
    for (const link of [...links, ws]) {
      expect(stamps.get(link.id)).toMatchObject({ venue: "Arena North", seat: "B12" });
    }
  });

  it("a flow that does not declare an issued field: Qualtrics refuses the export, the run reports that survey alone, and reads it once the field is declared", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    // The survey owner forgot seat in the survey flow.
    const declared = [...FIELDS, ...INVITE_FIELDS, "invite_tampered", "invite_duplicate"];
    await declareEmbeddedData(
      fake,
      "SV_demoeed",
      declared.filter((f) => f !== "seat"),
    );
    const [eed, query] = await Promise.all([issue({ survey: "demo-eed" }), issue()]);
    await addResponses(fake, "SV_demoeed", [{ landingUrl: await landingUrl(eed.id) }]);
    await addResponses(fake, "SV_demo", [{ landingUrl: await landingUrl(query.id) }]);

    const refused = await reconcileNow(fake);
    // The other survey is read and stamped all the same.
    expect(refused).toMatchObject({ status: "failed", completions: 1, stamped: 1 });
    expect(refused.error).toContain("completions for demo-eed");
    expect(refused.error).toContain("seat");

    // Declared: the response (recorded without seat) completes its invite, with a notice for seat.
    await declareEmbeddedData(fake, "SV_demoeed", declared);
    const read = await reconcileNow(fake);
    expect(read).toMatchObject({ status: "ok", completions: 1, tampered: 0, stamped: 1 });
    expect(read.notices).toEqual([
      expect.objectContaining({ survey: "demo-eed", code: "field_missing", fields: ["seat"] }),
    ]);
  });
});
