/**
 * Webhooks' pure logic in plain Node: signatures the `standardwebhooks` package verifies (both of
 * a rotation), the retry schedule that spans about a day within the queue's retention and matches
 * wrangler.toml, who gets a reminder, what an event carries, and WEBHOOKS' checks.
 */
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config/env";
import { parseWebhooks } from "../../src/config/webhooks";
import type { Suppression } from "../../src/webhooks";
import {
  eventBody,
  type InviteEventRow,
  inviteEvent,
  inviteEventId,
  suppressedEvent,
} from "../../src/webhooks/events";
import { reminderExclusion } from "../../src/webhooks/reminders";
import { retryDelaySeconds, WEBHOOK_MAX_RETRIES } from "../../src/webhooks/retries";
import { signDelivery } from "../../src/webhooks/signing";

const key = (fill: number) => new Uint8Array(32).fill(fill);
const secretOf = (bytes: Uint8Array) => `whsec_${Buffer.from(bytes).toString("base64")}`;

const NOW = Date.parse("2026-12-08T10:00:00Z");
const MINUTE = 60_000;

const row = (overrides: Partial<InviteEventRow> = {}): InviteEventRow => ({
  id: "AAc11cUpE6JTu4hDsIWxl_Xg",
  survey: "demo",
  transaction_id: "scan-0001",
  trigger: "ticket_scanned",
  channel: "in_app",
  issued_at: NOW - 30 * MINUTE,
  expires_at: NOW + 7 * 24 * 60 * MINUTE,
  consumed_at: null,
  completed_at: null,
  revoked_at: null,
  gone: 0,
  ...overrides,
});

describe("signing", () => {
  it("signs as Standard Webhooks says: the standardwebhooks package verifies it", async () => {
    const body = eventBody(inviteEvent("invite.opened", row({ consumed_at: NOW }), NOW));
    const headers = await signDelivery([key(1)], "msg_1", body, Date.now());
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secretOf(key(1))).verify(body, { ...headers })).toMatchObject({
      type: "invite.opened",
    });
    expect(() => new Webhook(secretOf(key(2))).verify(body, { ...headers })).toThrow();
    expect(() => new Webhook(secretOf(key(1))).verify(`${body} `, { ...headers })).toThrow();
  });

  it("signs with both keys while one is rotated, space-separated; either verifies", async () => {
    const body = '{"type":"invite.expired"}';
    const headers = await signDelivery([key(1), key(2)], "msg_2", body, Date.now());
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    for (const k of [key(1), key(2)]) {
      expect(() => new Webhook(secretOf(k)).verify(body, { ...headers })).not.toThrow();
    }
  });
});

describe("retries", () => {
  it("double from a minute up to four hours, and span about a day before the dead-letter queue", () => {
    expect([1, 2, 3, 9, 10, 13].map(retryDelaySeconds)).toEqual([
      60, 120, 240, 14_400, 14_400, 14_400,
    ]);
    let total = 0;
    for (let attempt = 1; attempt <= WEBHOOK_MAX_RETRIES; attempt++) {
      total += retryDelaySeconds(attempt);
    }
    expect(total / 3600).toBeGreaterThanOrEqual(23);
    expect(total / 3600).toBeLessThanOrEqual(26);
    // Queues keeps a message 4 days by default and delays a retry by at most 12 hours.
    expect(total).toBeLessThan(4 * 86_400);
    expect(retryDelaySeconds(WEBHOOK_MAX_RETRIES)).toBeLessThanOrEqual(12 * 3600);
  });

  it("match the webhooks queue's max_retries in wrangler.toml, at the top and in production", () => {
    const toml = readFileSync("wrangler.toml", "utf8");
    const retries = [
      ...toml.matchAll(/queue = "invite-edge-webhooks",[^}]*max_retries = (\d+)/g),
      ...toml.matchAll(/queue = "invite-edge-webhooks"\n(?:[a-z_]+ = .*\n)*?max_retries = (\d+)/g),
    ].map((m) => Number(m[1]));
    expect(retries).toEqual([WEBHOOK_MAX_RETRIES, WEBHOOK_MAX_RETRIES]);
  });
});

describe("reminders", () => {
  it("are due for an invite still waiting, and for no other", () => {
    expect(reminderExclusion(row(), NOW)).toBeNull();
    expect(reminderExclusion(row({ consumed_at: NOW - MINUTE }), NOW)).toBe("opened");
    expect(
      reminderExclusion(row({ consumed_at: NOW - 2 * MINUTE, completed_at: NOW - MINUTE }), NOW),
    ).toBe("completed");
    expect(reminderExclusion(row({ revoked_at: NOW - MINUTE }), NOW)).toBe("revoked");
    expect(reminderExclusion(row({ expires_at: NOW }), NOW)).toBe("expired");
    expect(reminderExclusion(row({ gone: 1 }), NOW)).toBe("gone");
  });
});

describe("events", () => {
  it("carry the invite's id, survey, trigger, channel, transaction id and the times known", () => {
    const event = inviteEvent(
      "invite.completed",
      row({ consumed_at: NOW, completed_at: NOW }),
      NOW,
    );
    expect(event.id).toBe(inviteEventId("AAc11cUpE6JTu4hDsIWxl_Xg", "invite.completed"));
    expect(JSON.parse(eventBody(event))).toEqual({
      type: "invite.completed",
      timestamp: "2026-12-08T10:00:00.000Z",
      data: {
        inviteId: "AAc11cUpE6JTu4hDsIWxl_Xg",
        survey: "demo",
        transactionId: "scan-0001",
        trigger: "ticket_scanned",
        channel: "in_app",
        issuedAt: "2026-12-08T09:30:00.000Z",
        expiresAt: "2026-12-15T10:00:00.000Z",
        openedAt: "2026-12-08T10:00:00.000Z",
        completedAt: "2026-12-08T10:00:00.000Z",
      },
    });
  });

  it("keep one id per invite and type, so a re-sent event is the same event", () => {
    const once = inviteEvent("invite.reminder_due", row(), NOW);
    const again = inviteEvent("invite.reminder_due", row(), NOW + MINUTE);
    expect(again.id).toBe(once.id);
    expect(inviteEvent("invite.expired", row(), NOW).id).not.toBe(once.id);
  });

  it("invite.suppressed carries survey, transactionId, trigger and reason, and no invite id", () => {
    const suppression: Suppression = {
      survey: "demo",
      transactionId: "scan-0002",
      trigger: "ticket_scanned",
      reason: "contact_rule",
      at: NOW,
    };
    const body = JSON.parse(eventBody(suppressedEvent(suppression)));
    expect(body).toEqual({
      type: "invite.suppressed",
      timestamp: "2026-12-08T10:00:00.000Z",
      data: {
        survey: "demo",
        transactionId: "scan-0002",
        trigger: "ticket_scanned",
        reason: "contact_rule",
      },
    });
  });
});

describe("WEBHOOKS", () => {
  const secret = secretOf(key(3));
  const entry = {
    id: "crm",
    url: "https://crm.example.com/hooks",
    events: ["invite.opened"],
    secret,
  };
  const parse = (value: unknown, environment = "development") =>
    parseWebhooks({ WEBHOOKS: JSON.stringify(value), ENVIRONMENT: environment } as Env);

  it("unset sends nothing; a valid list keeps each subscription's keys", () => {
    expect(parseWebhooks({} as Env)).toEqual({ state: "none" });
    const setup = parse([{ ...entry, secret: [secret, secretOf(key(4))] }]);
    expect(setup.state).toBe("ok");
    if (setup.state === "ok") expect(setup.subscriptions[0]?.keys).toEqual([key(3), key(4)]);
  });

  it("allows plain http only to a loopback receiver, and not in production", () => {
    const local = { ...entry, url: "http://127.0.0.1:9000/hooks" };
    expect(parse([local]).state).toBe("ok");
    expect(parse([local], "production")).toEqual({
      state: "invalid",
      problems: ["WEBHOOKS.0.url: must use https"],
    });
    expect(parse([{ ...entry, url: "http://crm.example.com/hooks" }])).toEqual({
      state: "invalid",
      problems: ["WEBHOOKS.0.url: must use https (http only to localhost or 127.0.0.1)"],
    });
  });

  it("names every problem by path at once, and never quotes a value", () => {
    const bad = [
      { ...entry, secret: "whsec_dG9vIHNob3J0", events: ["invite.clicked"] },
      { ...entry, url: "http://crm.example.com/x" },
      entry,
    ];
    const setup = parse(bad);
    expect(setup.state).toBe("invalid");
    const problems = setup.state === "invalid" ? setup.problems : [];
    expect(problems.map((p) => p.split(":")[0])).toEqual([
      "WEBHOOKS.0.events.0",
      "WEBHOOKS.0.secret",
      "WEBHOOKS.1.url",
      "WEBHOOKS.2.id",
    ]);
    expect(problems.join(" ")).not.toMatch(/dG9vIHNob3J0|crm\.example\.com/);
    expect(parse("not json" as unknown).state).toBe("invalid");
  });
});
