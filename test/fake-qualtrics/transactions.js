// @ts-check
/**
 * XM Directory transactions: `POST /directories/{id}/transactionbatches`, the transactioncontacts
 * import (≤10,000 contacts, ≤5 MB, every transactionData key listed in `fields`), and its status
 * and summary, which reach 100% after a few polls. A wrong directory, list or batch is accepted
 * and then records nothing: all counts 0 at 100%. Contacts whose extRef is empty, starts with
 * `bad-`, or was marked failing are listed as unprocessed.
 */
import {
  ApiError,
  badRequest,
  isObject,
  isStringRecord,
  parseJsonBody,
  percent,
  qid,
} from "./envelopes.js";
import { pathPattern } from "./route.js";

/**
 * @typedef {import("./state.js").FakeContext} FakeContext
 * @typedef {import("./state.js").ImportJob} ImportJob
 * @typedef {import("./state.js").Transaction} Transaction
 */

const MAX_IMPORT_CONTACTS = 10_000;

const XM_DATE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** @param {string} s */
function isXmDate(s) {
  const m = XM_DATE.exec(s);
  if (!m) return false;
  const [, y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0] = m.map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, se));
  return (
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    h < 24 &&
    mi < 60 &&
    se < 60
  );
}

/** @param {FakeContext} ctx @param {string} directoryId @param {Buffer} raw */
function createTransactionBatch(ctx, directoryId, raw) {
  const body = parseJsonBody(raw, ctx.maxBodyBytes, false);
  if (!isObject(body)) badRequest("Body must be a JSON object");
  const { transactionIds, creationDate } = body;
  if (!Array.isArray(transactionIds) || !transactionIds.every((x) => typeof x === "string")) {
    badRequest("transactionIds must be an array of strings");
  }
  if (typeof creationDate !== "string" || !isXmDate(creationDate)) {
    badRequest("creationDate must be a UTC date formatted YYYY-MM-DD HH:MM:SS");
  }
  const id = qid("BT_");
  ctx.state.batches[id] = {
    id,
    directoryId,
    transactionIds: [.../** @type {string[]} */ (transactionIds)],
    creationDate: /** @type {string} */ (creationDate),
    createdAt: new Date(ctx.now()).toISOString(),
  };
  return { id };
}

/** @param {unknown[]} contacts @param {Set<string>} fields */
function validateContacts(contacts, fields) {
  contacts.forEach((c, i) => {
    if (!isObject(c)) badRequest(`contacts[${i}] must be an object`);
    if (c.transactionData !== undefined) {
      if (!isStringRecord(c.transactionData))
        badRequest(`contacts[${i}].transactionData values must be strings`);
      for (const key of Object.keys(c.transactionData)) {
        if (!fields.has(key))
          badRequest(`contacts[${i}].transactionData.${key} is not in transactionMeta.fields`);
      }
    }
    if (c.embeddedData !== undefined && !isStringRecord(c.embeddedData)) {
      badRequest(`contacts[${i}].embeddedData values must be strings`);
    }
    for (const key of ["firstName", "lastName", "email", "language"]) {
      if (c[key] !== undefined && typeof c[key] !== "string")
        badRequest(`contacts[${i}].${key} must be a string`);
    }
    if (c.unsubscribed !== undefined && typeof c.unsubscribed !== "boolean") {
      badRequest(`contacts[${i}].unsubscribed must be a boolean`);
    }
  });
}

/**
 * @param {FakeContext} ctx
 * @param {string} directoryId
 * @param {string} mailingListId
 * @param {Buffer} raw
 * @param {string} baseUrl
 */
function importTransactionContacts(ctx, directoryId, mailingListId, raw, baseUrl) {
  const { state } = ctx;
  const body = parseJsonBody(raw, ctx.maxBodyBytes, false);
  if (!isObject(body)) badRequest("Body must be a JSON object");
  const meta = body.transactionMeta;
  if (!isObject(meta)) badRequest("transactionMeta is required");
  const { batchId, fields } = meta;
  if (typeof batchId !== "string" || batchId.length === 0)
    badRequest("transactionMeta.batchId is required");
  if (!Array.isArray(fields) || !fields.every((f) => typeof f === "string")) {
    badRequest("transactionMeta.fields must be an array of strings");
  }
  const contacts = body.contacts;
  if (!Array.isArray(contacts) || contacts.length === 0)
    badRequest("contacts must be a non-empty array");
  if (contacts.length > MAX_IMPORT_CONTACTS) {
    badRequest(`At most ${MAX_IMPORT_CONTACTS} contacts per import; got ${contacts.length}`);
  }
  validateContacts(contacts, new Set(/** @type {string[]} */ (fields)));

  const batch = state.batches[batchId];
  const idsValid =
    (state.directories[directoryId] ?? []).includes(mailingListId) &&
    batch !== undefined &&
    batch.directoryId === directoryId;
  const id = qid("PGR_");
  const createdAt = new Date(ctx.now()).toISOString();
  /** @type {ImportJob} */
  const job = {
    id,
    directoryId,
    mailingListId,
    batchId,
    idsValid,
    polls: 0,
    contactCount: contacts.length,
    unprocessed: [],
    counts: { added: 0, updated: 0, failed: 0 },
    transactionsCreated: 0,
    invalidEmails: [],
    createdAt,
  };

  /** @type {Record<string, unknown>[]} */ (contacts).forEach((c, index) => {
    const extRef = c.extRef;
    if (typeof extRef !== "string" || extRef.trim() === "" || isFailing(ctx, extRef)) {
      job.unprocessed.push(index);
      return;
    }
    // Wrong directory, list or batch: Qualtrics accepts the call and then records nothing.
    if (!idsValid || !batch) return;
    const key = `${directoryId}:${extRef}`;
    let contact = state.contacts[key];
    if (contact) {
      job.counts.updated += 1;
    } else {
      job.counts.added += 1;
      contact = {
        directoryId,
        extRef,
        mailingListIds: [],
        firstName: undefined,
        lastName: undefined,
        email: undefined,
        language: undefined,
        unsubscribed: false,
        embeddedData: {},
        transactions: [],
      };
      state.contacts[key] = contact;
    }
    if (!contact.mailingListIds.includes(mailingListId)) contact.mailingListIds.push(mailingListId);
    for (const k of /** @type {const} */ (["firstName", "lastName", "email", "language"])) {
      const v = c[k];
      if (typeof v === "string") contact[k] = v;
    }
    if (typeof c.unsubscribed === "boolean") contact.unsubscribed = c.unsubscribed;
    Object.assign(contact.embeddedData, c.embeddedData ?? {});
    if (typeof c.email === "string" && !EMAIL.test(c.email)) job.invalidEmails.push(c.email);
    /** @type {Transaction} */
    const transaction = {
      transactionId: qid("CTR_"),
      directoryId,
      mailingListId,
      batchId,
      importId: id,
      extRef,
      transactionData: { .../** @type {Record<string, string>} */ (c.transactionData ?? {}) },
      createdAt,
    };
    contact.transactions.push(transaction);
    state.transactions.push(transaction);
    batch.transactionIds.push(transaction.transactionId);
    job.transactionsCreated += 1;
  });
  if (idsValid) job.counts.failed = job.unprocessed.length;
  state.imports[id] = job;
  return {
    id,
    tracking: {
      url: `${baseUrl}/directories/${directoryId}/mailinglists/${mailingListId}/transactioncontacts/${id}`,
    },
    status: "inProgress",
    contacts: { unprocessed: [...job.unprocessed] },
  };
}

/** @param {FakeContext} ctx @param {string} extRef */
function isFailing(ctx, extRef) {
  return extRef.startsWith("bad-") || ctx.state.failingExtRefs.includes(extRef);
}

/**
 * @param {FakeContext} ctx
 * @param {[string, string, string]} params  directory, mailing list, import
 * @param {boolean} summary
 */
function transactionImportStatus(ctx, [directoryId, mailingListId, importId], summary) {
  const job = ctx.state.imports[importId];
  if (!job || job.directoryId !== directoryId || job.mailingListId !== mailingListId) {
    throw new ApiError(404, "NOT_FOUND", `Import ${importId} not found`);
  }
  job.polls += 1;
  const pct = percent(job.polls, ctx.state.pollsToComplete);
  // While running, counts grow with progress; only the 100% numbers are final.
  const scale = (/** @type {number} */ n) => Math.floor((n * pct) / 100);
  /** @type {Record<string, unknown>} */
  const result = {
    percentComplete: pct,
    status: pct >= 100 ? "complete" : "inProgress",
    contacts: {
      count: {
        added: scale(job.counts.added),
        updated: scale(job.counts.updated),
        failed: scale(job.counts.failed),
      },
    },
    transactions: { count: { created: scale(job.transactionsCreated) } },
  };
  if (summary) result.invalidEmails = pct >= 100 ? [...job.invalidEmails] : [];
  return result;
}

const IMPORTS = "/directories/:directoryId/mailinglists/:mailingListId/transactioncontacts";

/** @type {import("./route.js").ApiRoute[]} */
export const transactionRoutes = [
  {
    method: "POST",
    pattern: pathPattern("/directories/:directoryId/transactionbatches"),
    endpoint: "createTransactionBatch",
    scopes: ["write:contact_transactions"],
    perMinute: 500,
    run: (ctx, { params, body }) => createTransactionBatch(ctx, params[0], body),
  },
  {
    method: "POST",
    pattern: pathPattern(IMPORTS),
    endpoint: "importTransactionContacts",
    scopes: ["write:contact_transactions", "write:mailing_list_contacts"],
    perMinute: 100,
    run: (ctx, { params, body, baseUrl }) =>
      importTransactionContacts(ctx, params[0], params[1], body, baseUrl),
  },
  {
    method: "GET",
    pattern: pathPattern(`${IMPORTS}/:importId/summary`),
    endpoint: "getTransactionImportSummary",
    scopes: ["write:contact_transactions"],
    perMinute: 500,
    run: (ctx, { params }) => transactionImportStatus(ctx, params, true),
  },
  {
    method: "GET",
    pattern: pathPattern(`${IMPORTS}/:importId`),
    endpoint: "getTransactionImport",
    scopes: ["write:contact_transactions"],
    perMinute: 500,
    run: (ctx, { params }) => transactionImportStatus(ctx, params, false),
  },
];
