// @ts-check
/**
 * Vitest globalSetup: one webhook receiver for the whole run, on a free loopback port. Its URL
 * reaches tests as `inject("webhookReceiverUrl")`; each test file names its own receivers.
 */
import { startWebhookReceiver } from "./server.js";

/** @param {{ provide: (key: string, value: unknown) => void }} project */
export default async function setup({ provide }) {
  const receiver = await startWebhookReceiver();
  provide("webhookReceiverUrl", receiver.url);
  return async () => {
    await receiver.close();
  };
}
