// @ts-check
/**
 * A webhook receiver on loopback for the workerd suite: what a platform's endpoint does, in
 * Node, outside the Worker. Each named receiver verifies every delivery's Standard Webhooks
 * signature with the `standardwebhooks` package (against each of its secrets), can refuse its
 * first N deliveries with 503, and lists what it got.
 *
 *   PUT  /receivers/<name>   {"secrets": ["whsec_…"], "failFirst": 2}   (re)sets a receiver
 *   GET  /receivers/<name>   {"deliveries": [{id, timestamp, body, verified, status}]}
 *   POST /hooks/<name>       a delivery
 */
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

/**
 * @typedef {{ id: string; timestamp: string; body: string; verified: boolean[]; status: number }} Delivery
 * @typedef {{ secrets: string[]; failFirst: number; deliveries: Delivery[] }} Receiver
 */

/** @param {import("node:http").IncomingMessage} req */
async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Whether `body` with these headers verifies under `secret` (signature and timestamp).
 * @param {string} secret @param {string} body @param {Record<string, string>} headers
 */
function verifies(secret, body, headers) {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

/** @param {{ port?: number }} options */
export async function startWebhookReceiver({ port = 0 } = {}) {
  /** @type {Map<string, Receiver>} */
  const receivers = new Map();
  const server = createServer(async (req, res) => {
    const [, kind, name = ""] = (req.url ?? "").split("/");
    const body = await readBody(req);
    /** @param {number} status @param {unknown} value */
    const json = (status, value) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (kind === "receivers" && req.method === "PUT") {
      const { secrets = [], failFirst = 0 } = JSON.parse(body || "{}");
      receivers.set(name, { secrets, failFirst, deliveries: [] });
      return json(200, { name });
    }
    const receiver = receivers.get(name);
    if (!receiver) return json(404, { error: "no such receiver" });
    if (kind === "receivers" && req.method === "GET") {
      return json(200, { deliveries: receiver.deliveries });
    }
    if (kind === "hooks" && req.method === "POST") {
      const headers = {
        "webhook-id": String(req.headers["webhook-id"] ?? ""),
        "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
      };
      const failing = receiver.failFirst > 0;
      if (failing) receiver.failFirst -= 1;
      const status = failing ? 503 : 204;
      receiver.deliveries.push({
        id: headers["webhook-id"],
        timestamp: headers["webhook-timestamp"],
        body,
        verified: receiver.secrets.map((secret) => verifies(secret, body, headers)),
        status,
      });
      res.writeHead(status);
      return res.end();
    }
    return json(404, { error: "no such route" });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("receiver has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}
