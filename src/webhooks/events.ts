/**
 * What an event is: its id (the `webhook-id` every delivery and replay of it carries), its type,
 * when it happened, and its data, built from the invite's ledger row. The body follows the shape
 * Standard Webhooks recommends, `{"type", "timestamp", "data"}`. No event ever carries the
 * customer id or embedded data: a receiver that needs them looks them up by `transactionId`.
 */
import type { WebhookEventType } from "../config/webhooks";
import { base64url } from "../tokens/ids";

/** The invite-based event types: every one but `invite.suppressed`, which has no invite. */
type InviteEventType = Exclude<WebhookEventType, "invite.suppressed">;

/** The ledger columns an invite event is built from (never the customer id or embedded data). */
export interface InviteEventRow {
  id: string;
  survey: string;
  transaction_id: string;
  trigger: string;
  channel: string | null;
  issued_at: number;
  expires_at: number;
  consumed_at: number | null;
  completed_at: number | null;
  revoked_at: number | null;
  /** 1 when the invite's personal data is gone (purged or erased): it gets no event. */
  gone: number;
}

interface InviteEventData {
  inviteId: string;
  survey: string;
  transactionId: string;
  trigger: string;
  channel: string | null;
  issuedAt: string;
  expiresAt: string;
  openedAt?: string;
  completedAt?: string;
}

interface SuppressedEventData {
  survey: string;
  transactionId: string;
  trigger: string;
  reason: string;
}

export interface WebhookEvent {
  /** The `webhook-id`: the same on every retry and replay of this event. */
  id: string;
  type: WebhookEventType;
  /** When it happened (ISO 8601). */
  timestamp: string;
  data: InviteEventData | SuppressedEventData;
}

/** What goes on the webhooks queue: an event, for every subscription or for one. */
export interface EventMessage {
  event: WebhookEvent;
  /** Absent: the consumer sends one message per subscription that asked for this type. */
  subscription?: string;
  /** Sent again by replay: its record says how the replay went. */
  replayed?: true;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Each invite event type has one id per invite, so a re-sent event keeps its id. */
const ID_SUFFIX: Record<InviteEventType, string> = {
  "invite.opened": "opened",
  "invite.completed": "completed",
  "invite.expired": "expired",
  "invite.reminder_due": "reminder",
};

/** The event id of an invite event: one per invite and type, whoever sends it and however often. */
export const inviteEventId = (inviteId: string, type: InviteEventType): string =>
  `msg_${inviteId}_${ID_SUFFIX[type]}`;

/**
 * The event of `type` about `row`, which happened `at`.
 *
 * @example inviteEvent("invite.opened", row, row.consumed_at).data.openedAt // "2026-…Z"
 */
export function inviteEvent(type: InviteEventType, row: InviteEventRow, at: number): WebhookEvent {
  const data: InviteEventData = {
    inviteId: row.id,
    survey: row.survey,
    transactionId: row.transaction_id,
    trigger: row.trigger,
    channel: row.channel,
    issuedAt: iso(row.issued_at),
    expiresAt: iso(row.expires_at),
  };
  if (row.consumed_at !== null) data.openedAt = iso(row.consumed_at);
  if (row.completed_at !== null) data.completedAt = iso(row.completed_at);
  return { id: inviteEventId(row.id, type), type, timestamp: iso(at), data };
}

export interface Suppression {
  survey: string;
  transactionId: string;
  trigger: string;
  /** Why: the contact rule, sample, cap or opt-out that suppressed the request. */
  reason: string;
  /** When the request was suppressed (epoch ms). */
  at: number;
}

/** The `invite.suppressed` event: no invite exists, so its id is random (sent once). */
export function suppressedEvent(s: Suppression): WebhookEvent {
  const id = `msg_${base64url(crypto.getRandomValues(new Uint8Array(16)))}`;
  return {
    id,
    type: "invite.suppressed",
    timestamp: iso(s.at),
    data: {
      survey: s.survey,
      transactionId: s.transactionId,
      trigger: s.trigger,
      reason: s.reason,
    },
  };
}

/** The bytes a receiver gets and the signature covers. */
export const eventBody = (event: WebhookEvent): string =>
  JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });

/** A queue message body, checked: messages outlive deployments, so their shape is not assumed. */
export function readEventMessage(body: unknown): EventMessage | null {
  if (typeof body !== "object" || body === null) return null;
  const event: unknown = Reflect.get(body, "event");
  const subscription: unknown = Reflect.get(body, "subscription");
  if (typeof event !== "object" || event === null) return null;
  const { id, type, timestamp, data } = event as Record<string, unknown>;
  if (typeof id !== "string" || typeof type !== "string" || typeof timestamp !== "string") {
    return null;
  }
  if (typeof data !== "object" || data === null) return null;
  if (subscription !== undefined && typeof subscription !== "string") return null;
  return {
    event: event as WebhookEvent,
    ...(subscription ? { subscription } : {}),
    ...(Reflect.get(body, "replayed") === true ? { replayed: true } : {}),
  };
}
