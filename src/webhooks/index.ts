/**
 * The webhooks feature's public face: the scheduled sweep that sends invite events, the queue
 * consumers that deliver them (signed, retried, dead-lettered), the deliveries API, the
 * `invite.suppressed` event for the issue path, and what retention and erasure need of it.
 */

export { deliverWebhooks, recordDeadLetters } from "./consumer";
export { WEBHOOK_DEAD_LETTER_QUEUE, WEBHOOK_QUEUE } from "./enqueue";
export type { Suppression } from "./events";
export { webhookRoutes } from "./routes";
export { forgetDeliveriesOfInvites, purgeStoredDeliveries } from "./stored-deliveries";
export { notifySuppressed } from "./suppressed";
export { sweepWebhookEvents } from "./sweep";
