/**
 * Webhooks end to end, inside workerd: invites issued, tapped, completed, revoked and left to
 * expire through the API; one run of the scheduled sweep at an injected time; the queue's
 * messages handed to the Worker's own queue handler as the platform would (attempt by attempt,
 * so retries need no waiting); deliveries to a receiver on loopback (test/webhook-receiver/)
 * that verifies every signature with the `standardwebhooks` package. The queue's producer is a
 * recorder, so each test decides what the consumer gets and when.
 */
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { beforeAll, describe, expect, inject, it, vi } from "vitest";
import type { Env } from "../src/config/env";
import worker from "../src/index";
import { runScheduledJobs, webhooksJob } from "../src/scheduled";
import { notifySuppressed, WEBHOOK_DEAD_LETTER_QUEUE, WEBHOOK_QUEUE } from "../src/webhooks";
import {
  ADMIN_KEY,
  api,
  apiRequest,
  fetchWorker,
  ISSUER_KEY,
  issue,
  linkRequest,
  ORIGIN,
  PHONE_UA,
  randomIp,
  tap,
  uniqueTxn,
} from "./helpers/api";
import { ledgerOf } from "./helpers/ledger";

declare module "vitest" {
  interface ProvidedContext {
    webhookReceiverUrl: string;
  }
}

const RECEIVER = inject("webhookReceiverUrl");

/** Standard Webhooks secrets: the current one and the one being rotated in. */
const SECRET_A = `whsec_${btoa("a-secret-of-at-least-24-bytes!!")}`;
const SECRET_B = `whsec_${btoa("b-secret-of-at-least-24-bytes!!")}`;

/** Values only the issue call carries: no event body may contain them. */
const CUSTOMER_ID = `customer-${uniqueTxn("private")}`;
const EMBEDDED = { venue: "Venue-private-7c1", event: "Event-private-7c1", seat: "Seat-7c1" };

interface Received {
  id: string;
  timestamp: string;
  body: string;
  verified: boolean[];
  status: number;
}

async function receiver(name: string, setup: { secrets: string[]; failFirst?: number }) {
  const res = await fetch(`${RECEIVER}/receivers/${name}`, {
    method: "PUT",
    body: JSON.stringify(setup),
  });
  expect(res.status).toBe(200);
}

async function received(name: string): Promise<Received[]> {
  const res = await fetch(`${RECEIVER}/receivers/${name}`);
  return ((await res.json()) as { deliveries: Received[] }).deliveries;
}

type Message = { event: { id: string; type: string; data: Record<string, unknown> } } & {
  subscription?: string;
};

/** A queue producer that keeps what it is given (the test hands it to the consumer). */
function recordingQueue(): { queue: Queue; sent: Message[] } {
  const sent: Message[] = [];
  const queue = {
    send: async (body: Message) => {
      sent.push(body);
    },
    sendBatch: async (messages: { body: Message }[]) => {
      for (const m of messages) sent.push(m.body);
    },
  };
  return { queue: queue as unknown as Queue, sent };
}

const subscription = (id: string, url: string, events: string[], secret: string | string[]) => ({
  id,
  url,
  events,
  secret,
});

const ALL_TYPES = [
  "invite.opened",
  "invite.completed",
  "invite.expired",
  "invite.reminder_due",
  "invite.suppressed",
];

/** The test env: WEBHOOKS as given, a recording queue, and a reminder after 2 minutes on demo. */
function webhookEnv(subscriptions: unknown[]): { env: Env; sent: Message[] } {
  const { queue, sent } = recordingQueue();
  const surveys = env.SURVEYS as unknown as Record<string, Record<string, unknown>>;
  return {
    env: {
      ...env,
      WEBHOOKS: JSON.stringify(subscriptions),
      WEBHOOK_QUEUE: queue,
      SURVEYS: { ...surveys, demo: { ...surveys.demo, reminderAfterMinutes: 2 } },
    } as Env,
    sent,
  };
}

let batches = 0;
/**
 * Hands messages to the Worker's queue handler, as delivery number `attempts` of each; with the
 * delay each retried message asked for (the pool's result does not keep it).
 */
async function consume(queueName: string, bodies: unknown[], workerEnv: Env, attempts = 1) {
  batches += 1;
  const batch = createMessageBatch(
    queueName,
    bodies.map((body, i) => ({ id: `b${batches}-m${i}`, timestamp: new Date(), attempts, body })),
  );
  const retries = batch.messages.map((message) => vi.spyOn(message, "retry"));
  const ctx = createExecutionContext();
  await worker.queue(batch, workerEnv);
  const result = await getQueueResult(batch, ctx);
  const delays = retries.flatMap((spy) => spy.mock.calls.map(([options]) => options?.delaySeconds));
  return { ...result, delays };
}

/** One run of the scheduled sweep at `at`. */
const sweep = (workerEnv: Env, at: number) =>
  runScheduledJobs(
    [webhooksJob],
    workerEnv,
    createScheduledController({ scheduledTime: at, cron: "*/10 * * * *" }),
  );

const flakyUrl = `${RECEIVER}/hooks/flaky`;
const typesUrl = `${RECEIVER}/hooks/types`;
// Nothing listens on port 9 of loopback: connections are refused.
const unreachableUrl = "http://127.0.0.1:9/hooks";

const subscriptions = [
  subscription("types", typesUrl, ALL_TYPES, [SECRET_A, SECRET_B]),
  subscription("flaky", flakyUrl, ["invite.opened"], SECRET_A),
  subscription("down", unreachableUrl, ["invite.expired"], SECRET_A),
];

const invites: Record<"opened" | "completed" | "expired" | "reminded" | "revoked", string> = {
  opened: "",
  completed: "",
  expired: "",
  reminded: "",
  revoked: "",
};
const mine = new Set<string>();
const setup = webhookEnv(subscriptions);
/** What the two sweeps sent, and the fan-out of the first. */
let firstSweep: Message[] = [];
let secondSweep: Message[] = [];
let deliveries: Message[] = [];

const issueMine = async (overrides: Record<string, unknown> = {}) => {
  const link = await issue({ customerId: CUSTOMER_ID, embeddedData: EMBEDDED, ...overrides });
  mine.add(link.id);
  return link.id;
};
const ofMine = (messages: Message[]) =>
  messages.filter((m) => mine.has(String(m.event.data.inviteId ?? "")));

beforeAll(async () => {
  await receiver("types", { secrets: [SECRET_A, SECRET_B] });
  await receiver("flaky", { secrets: [SECRET_A], failFirst: 2 });
  const issuedAt = Date.now();
  invites.opened = await issueMine();
  invites.completed = await issueMine();
  invites.expired = await issueMine({ ttlSeconds: 60 });
  invites.reminded = await issueMine();
  invites.revoked = await issueMine();
  expect((await tap(invites.opened)).status).toBe(302);
  expect((await tap(invites.completed)).status).toBe(302);
  // Reconcile marks a completion with one UPDATE of completed_at (src/reconcile/storage/).
  await ledgerOf(invites.completed)
    .prepare("UPDATE invites SET completed_at = ? WHERE id = ?")
    .bind(Date.now(), invites.completed)
    .run();
  const revoke = await api(`/v1/links/${invites.revoked}`, { method: "DELETE", key: ISSUER_KEY });
  expect(revoke.status).toBe(200);

  // Three minutes on: the 60-second link expired, the 2-minute reminder is due.
  await sweep(setup.env, issuedAt + 3 * 60_000);
  firstSweep = setup.sent.splice(0);
  await sweep(setup.env, issuedAt + 13 * 60_000);
  secondSweep = setup.sent.splice(0);

  // The consumer fans each event out, one message per subscription that asked for its type.
  const fanOut = await consume(WEBHOOK_QUEUE, ofMine(firstSweep), setup.env);
  expect(fanOut.explicitAcks).toHaveLength(ofMine(firstSweep).length);
  deliveries = setup.sent.splice(0);
});

describe("the sweep", () => {
  it("sends one event of each kind that happened, and nothing for the rest", () => {
    const kinds = ofMine(firstSweep).map((m) => [m.event.type, m.event.data.inviteId]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ["invite.opened", invites.opened],
        ["invite.opened", invites.completed],
        ["invite.completed", invites.completed],
        ["invite.expired", invites.expired],
        ["invite.reminder_due", invites.reminded],
      ]),
    );
    expect(kinds).toHaveLength(5);
  });

  it("reminds only an invite still waiting: not opened, completed, revoked, expired or reminded", () => {
    const reminded = [...firstSweep, ...secondSweep]
      .filter((m) => m.event.type === "invite.reminder_due")
      .map((m) => m.event.data.inviteId)
      .filter((id) => mine.has(String(id)));
    expect(reminded).toEqual([invites.reminded]);
  });

  it("sends nothing twice: the second run finds nothing new of these invites", () => {
    expect(ofMine(secondSweep)).toEqual([]);
  });
});

describe("deliveries", () => {
  it("reach a receiver that verifies both signatures of a rotation, for every event type", async () => {
    const ctx = createExecutionContext();
    notifySuppressed(setup.env, ctx, {
      survey: "demo",
      transactionId: uniqueTxn("suppressed"),
      trigger: "ticket_scanned",
      reason: "contact_rule",
      at: Date.now(),
    });
    await waitOnExecutionContext(ctx);
    const suppressed = setup.sent.splice(0);
    expect(suppressed.map((m) => m.event.type)).toEqual(["invite.suppressed"]);
    await consume(WEBHOOK_QUEUE, suppressed, setup.env);
    const toTypes = [...deliveries, ...setup.sent.splice(0)].filter(
      (m) => m.subscription === "types",
    );
    const result = await consume(WEBHOOK_QUEUE, toTypes, setup.env);
    expect(result.retryMessages).toEqual([]);

    const got = await received("types");
    expect(new Set(got.map((d) => JSON.parse(d.body).type))).toEqual(new Set(ALL_TYPES));
    for (const delivery of got) {
      expect(delivery.verified).toEqual([true, true]);
      expect(delivery.status).toBe(204);
    }
    const opened = got.find((d) => d.id === `msg_${invites.opened}_opened`);
    expect(JSON.parse(opened?.body ?? "{}")).toMatchObject({
      type: "invite.opened",
      data: { inviteId: invites.opened, survey: "demo", trigger: "ticket_scanned" },
    });
  });

  it("never carry the customer id or embedded data, in any body the receivers got", async () => {
    const bodies = [...(await received("types")), ...(await received("flaky"))].map((d) => d.body);
    expect(bodies.length).toBeGreaterThanOrEqual(ALL_TYPES.length);
    for (const body of bodies) {
      for (const value of [CUSTOMER_ID, ...Object.values(EMBEDDED)]) {
        expect(body).not.toContain(value);
      }
      expect(body).not.toMatch(/customerId|embeddedData|customer_ref|embedded_data/);
    }
  });

  it("are retried with backoff after two refusals and arrive once more, with the same webhook-id", async () => {
    const toFlaky = deliveries.filter(
      (m) => m.subscription === "flaky" && m.event.data.inviteId === invites.opened,
    );
    expect(toFlaky).toHaveLength(1);
    const first = await consume(WEBHOOK_QUEUE, toFlaky, setup.env, 1);
    expect(first.delays).toEqual([60]);
    const second = await consume(WEBHOOK_QUEUE, toFlaky, setup.env, 2);
    expect(second.delays).toEqual([120]);
    const third = await consume(WEBHOOK_QUEUE, toFlaky, setup.env, 3);
    expect(third.retryMessages).toEqual([]);
    expect(third.explicitAcks).toHaveLength(1);

    const got = (await received("flaky")).filter((d) => d.id === `msg_${invites.opened}_opened`);
    expect(got.map((d) => d.status)).toEqual([503, 503, 204]);
    expect(got.every((d) => d.verified[0] === true)).toBe(true);
    const listed = await listDeliveries();
    expect(listed.deliveries).toContainEqual(
      expect.objectContaining({
        eventId: `msg_${invites.opened}_opened`,
        subscription: "flaky",
        status: "delivered",
        attempts: 3,
        lastError: "HTTP 503",
      }),
    );
  });

  it("to an unreachable receiver end dead-lettered, and replay delivers them with the same id", async () => {
    const toDown = deliveries.filter((m) => m.subscription === "down");
    expect(toDown.map((m) => m.event.data.inviteId)).toContain(invites.expired);
    const mineDown = toDown.filter((m) => m.event.data.inviteId === invites.expired);
    const failed = await consume(WEBHOOK_QUEUE, mineDown, setup.env, 1);
    expect(failed.retryMessages).toHaveLength(1);
    // The queue gives up after max_retries and moves the message to the dead-letter queue.
    const dead = await consume(WEBHOOK_DEAD_LETTER_QUEUE, mineDown, setup.env);
    expect(dead.ackAll).toBe(true);
    const eventId = `msg_${invites.expired}_expired`;
    const listed = await listDeliveries("dead");
    expect(listed.deliveries).toContainEqual(
      expect.objectContaining({ eventId, subscription: "down", status: "dead" }),
    );
    expect(listed.counters).toContainEqual(expect.objectContaining({ subscription: "down" }));

    // The operator points the subscription at a receiver that answers, then replays.
    await receiver("fixed", { secrets: [SECRET_A] });
    const fixed = webhookEnv([
      subscription("down", `${RECEIVER}/hooks/fixed`, ["invite.expired"], SECRET_A),
    ]);
    const replay = await fetchWorker(
      new Request(`${ORIGIN}/v1/webhooks/deliveries/replay`, {
        method: "POST",
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ ids: [eventId, "msg_unknown"] }),
      }),
      fixed.env,
    );
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({
      replayed: [{ eventId, subscription: "down" }],
      notFound: ["msg_unknown"],
    });
    await consume(WEBHOOK_QUEUE, fixed.sent.splice(0), fixed.env);
    const got = await received("fixed");
    expect(got.map((d) => [d.id, d.status, d.verified[0]])).toEqual([[eventId, 204, true]]);
    expect((await listDeliveries()).deliveries).toContainEqual(
      expect.objectContaining({ eventId, subscription: "down", status: "delivered" }),
    );
  });
});

interface DeliveryList {
  deliveries: { eventId: string; subscription: string | null; status: string }[];
  counters: { subscription: string }[];
}

async function listDeliveries(status?: string): Promise<DeliveryList> {
  const query = status ? `?status=${status}&limit=200` : "?limit=200";
  const res = await api(`/v1/webhooks/deliveries${query}`, { key: ADMIN_KEY });
  expect(res.status).toBe(200);
  return res.json();
}

describe("invite.suppressed from the issue call", () => {
  it("is sent once when a request is suppressed, never for its replay", async () => {
    const setup = webhookEnv([
      subscription("rules", `${RECEIVER}/hooks/rules`, ["invite.suppressed"], SECRET_A),
    ]);
    const customerId = uniqueTxn("opted-out");
    const optOut = await fetchWorker(
      apiRequest(
        "/v1/opt-outs",
        { method: "POST", json: { customerId, surveys: ["demo"] } },
        ADMIN_KEY,
      ),
      setup.env,
    );
    expect(optOut.status).toBeLessThan(300);
    const request = linkRequest({ customerId });
    const call = () =>
      fetchWorker(apiRequest("/v1/links", { method: "POST", json: request }), setup.env);
    const first = await call();
    expect(await first.json()).toMatchObject({ status: "suppressed", reason: "opted_out" });
    expect(setup.sent.map((m) => m.event)).toEqual([
      expect.objectContaining({
        type: "invite.suppressed",
        data: expect.objectContaining({
          survey: "demo",
          transactionId: request.transactionId,
          reason: "opted_out",
        }),
      }),
    ]);
    expect(JSON.stringify(setup.sent)).not.toContain(customerId);
    expect((await call()).status).toBe(200);
    expect(setup.sent).toHaveLength(1);
  });
});

describe("what never waits for webhooks", () => {
  it("the tap answers while the queue's send never settles", async () => {
    const never = new Promise<void>(() => {});
    const stuck = {
      ...setup.env,
      WEBHOOK_QUEUE: { send: () => never, sendBatch: () => never } as unknown as Queue,
    };
    const id = await issueMine();
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${ORIGIN}/s/${id}`, {
        headers: { "User-Agent": PHONE_UA, "CF-Connecting-IP": randomIp() },
        redirect: "manual",
      }) as Request<unknown, IncomingRequestCfProperties>,
      stuck,
      ctx,
    );
    expect(res.status).toBe(302);
    // Nothing the tap left running waits for the queue either.
    await waitOnExecutionContext(ctx);
  });

  it("a bad WEBHOOKS is reported by /healthz, names no value, and holds events in the queue", async () => {
    const bad = webhookEnv([
      subscription("crm", "http://crm.example.com/hooks", ["invite.opened"], "whsec_short"),
    ]);
    const res = await fetchWorker(new Request(`${ORIGIN}/healthz`), bad.env);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({
      ok: true,
      webhooks: "invalid",
      webhookProblems: [
        expect.stringMatching(/^WEBHOOKS\.0\.secret: /),
        expect.stringMatching(/^WEBHOOKS\.0\.url: must use https/),
      ],
    });
    expect(text).not.toContain("whsec_short");
    expect(text).not.toContain("crm.example.com");
    const held = await consume(WEBHOOK_QUEUE, ofMine(firstSweep).slice(0, 1), bad.env);
    expect(held.retryMessages).toHaveLength(1);
    expect(held.explicitAcks).toEqual([]);
  });
});
