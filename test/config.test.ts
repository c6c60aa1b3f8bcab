/**
 * The development configuration, as wrangler.toml gives it to the Worker, parses: the demo surveys
 * in their modes. (The parser's rules, in plain Node: test/unit/config.test.ts.)
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/config";

describe("the development configuration (wrangler.toml)", () => {
  it("loads the development surveys from wrangler.toml", () => {
    const config = parseConfig(env);
    expect([...config.surveys.keys()].sort()).toEqual([
      "demo",
      "demo-confirm",
      "demo-eed",
      "demo-in-app",
      "demo-ws",
    ]);
    expect(config.surveys.get("demo-ws")?.mode).toBe("webservice");
    expect(config.surveys.get("demo-eed")).toMatchObject({
      mode: "eed",
      fields: ["venue", "event", "seat"],
      qualtricsSurveyId: "SV_demoeed",
    });
    expect(config.surveys.get("demo-confirm")?.confirm).toBe(true);
    // The same-device window is off unless a survey sets one (demo-in-app: 30 minutes).
    expect(config.surveys.get("demo")?.sameDeviceMinutes).toBe(0);
    expect(config.surveys.get("demo-in-app")?.sameDeviceMinutes).toBe(30);
  });
});
