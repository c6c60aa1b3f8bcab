/**
 * `WEBHOOKS`: the subscriptions that receive invite events (docs/webhooks.md), a secret holding a
 * JSON array `[{"id", "url", "events": [...], "secret": "whsec_…"}]`. Checked like every
 * setting, each problem named by path (`WEBHOOKS.0.url`), but, like BRAND, a bad WEBHOOKS never
 * stops taps or issue calls: it is reported in `/healthz` and the log, and the events wait in
 * the queue until it is fixed. Problems never quote a value: the setting holds signing secrets.
 */
import { z } from "zod";
import type { Env } from "./env";
import { Problems } from "./parsing";

/** Every event a subscription can ask for. */
export const WEBHOOK_EVENT_TYPES = [
  "invite.opened",
  "invite.completed",
  "invite.expired",
  "invite.reminder_due",
  "invite.suppressed",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Standard Webhooks keys: `whsec_` then base64 of 24 to 64 random bytes. */
const SECRET_PREFIX = "whsec_";
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const MAX_SUBSCRIPTIONS = 20;

export interface WebhookSubscription {
  id: string;
  url: string;
  events: readonly WebhookEventType[];
  /** The raw HMAC keys: one, or two while one is rotated (both sign every delivery). */
  keys: readonly Uint8Array[];
}

/** `none`: WEBHOOKS is not set, nothing is sent. `invalid`: events wait until it is fixed. */
type WebhookSetup =
  | { state: "none" }
  | { state: "ok"; subscriptions: readonly WebhookSubscription[] }
  | { state: "invalid"; problems: readonly string[] };

/** The key of a `whsec_…` secret, or null when it is not one. */
function webhookSecretKey(secret: string): Uint8Array | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return null;
  const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  return bytes.length >= MIN_SECRET_BYTES && bytes.length <= MAX_SECRET_BYTES ? bytes : null;
}

const secret = z.string().refine((value) => webhookSecretKey(value) !== null, {
  message: `must be ${SECRET_PREFIX} then base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`,
});

const subscriptionSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be a-z, 0-9, - or _ (max 64)"),
    url: z.url({ message: "must be an absolute URL" }),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1, "must name at least one event"),
    // Two during a rotation: the old one, which receivers still check, and the new one.
    secret: z.union([secret, z.array(secret).min(1).max(2)], {
      error: `must be a ${SECRET_PREFIX}… string, or an array of one or two`,
    }),
  })
  .strict();

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** https everywhere; plain http only to a loopback receiver, and only in development. */
function checkUrl(problems: Problems, path: string, url: string, production: boolean): void {
  const parsed = new URL(url);
  const localHttp = !production && parsed.protocol === "http:" && LOOPBACK.has(parsed.hostname);
  if (parsed.protocol !== "https:" && !localHttp) {
    problems.add(
      `${path}: must use https${production ? "" : " (http only to localhost or 127.0.0.1)"}`,
    );
  }
  if (parsed.username || parsed.password) problems.add(`${path}: must not carry credentials`);
}

/** WEBHOOKS checked; every problem added to `problems`, named by path. */
function parseSubscriptions(problems: Problems, env: Env): WebhookSubscription[] {
  const production = env.ENVIRONMENT === "production";
  const list = problems.parse(
    "WEBHOOKS",
    z.array(z.unknown()).max(MAX_SUBSCRIPTIONS),
    env.WEBHOOKS,
  );
  const subscriptions: WebhookSubscription[] = [];
  const seen = new Set<string>();
  (list ?? []).forEach((value, i) => {
    const entry = problems.parse(`WEBHOOKS.${i}`, subscriptionSchema, value);
    // Every problem at once: a bad secret must not hide the same entry's bad URL.
    const url =
      entry?.url ?? (typeof value === "object" && value ? Reflect.get(value, "url") : null);
    if (typeof url === "string" && z.url().safeParse(url).success) {
      checkUrl(problems, `WEBHOOKS.${i}.url`, url, production);
    }
    if (!entry) return;
    if (seen.has(entry.id)) problems.add(`WEBHOOKS.${i}.id: ${entry.id} is used twice`);
    seen.add(entry.id);
    const secrets = typeof entry.secret === "string" ? [entry.secret] : entry.secret;
    subscriptions.push({
      id: entry.id,
      url: entry.url,
      events: [...new Set(entry.events)],
      keys: secrets.map((s) => webhookSecretKey(s) as Uint8Array),
    });
  });
  return subscriptions;
}

/** WEBHOOKS parsed from `env`; never throws (a bad value is `invalid` with its problems). */
export function parseWebhooks(env: Env): WebhookSetup {
  if (env.WEBHOOKS === undefined || env.WEBHOOKS === "") return { state: "none" };
  const problems = new Problems();
  const subscriptions = parseSubscriptions(problems, env);
  if (problems.list.length > 0) return { state: "invalid", problems: problems.list };
  return { state: "ok", subscriptions };
}

const cache = new WeakMap<Env, WebhookSetup>();

/** WEBHOOKS for this `env`, parsed on first use in the isolate. */
export function getWebhooks(env: Env): WebhookSetup {
  let setup = cache.get(env);
  if (!setup) {
    setup = parseWebhooks(env);
    cache.set(env, setup);
  }
  return setup;
}
