// @ts-check
/**
 * XM Directory transactions: `POST /directories/{id}/transactionbatches`, the transactioncontacts
 * import (≤10,000 contacts, ≤5 MB, every transactionData key listed in `fields`, values of at most
 * 1,000 characters), its status and summary, which reach 100% after a few polls, and the list of a
 * batch's transactions, page by page. A wrong directory, list or batch is accepted and then
 * records nothing: all counts 0 at 100%. Contacts whose extRef is empty, starts with `bad-`, or
 * was marked failing are listed as unprocessed (`null` when none is, as Qualtrics may answer).
 *
 * Contacts merge as the directory's automatic deduplication says (`deduplicateOn`): on External
 * Data Reference a known extRef gains one more transaction (an update); on email, contacts without
 * one never merge; off, every contact is new.
 */
import {
  ApiError,
  badRequest,
  isObject,
  isStringRecord,
  MAX_VALUE_CHARACTERS,
  overlongValue,
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
    for (const part of /** @type {const} */ (["transactionData", "embeddedData"])) {
      const values = c[part];
      const long = isStringRecord(values) ? overlongValue(values) : undefined;
      if (long !== undefined) {
        badRequest(`contacts[${i}].${part}.${long} is over ${MAX_VALUE_CHARACTERS} characters`);
      }
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
    const key = contactKey(ctx, directoryId, extRef, c.email);
    let contact = state.contacts[key];
    if (contact) {
      job.counts.updated += 1;
    } else {
      job.counts.added += 1;
      contact = {
        contactId: qid("CID_"),
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
      contactId: contact.contactId,
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
    contacts: { unprocessed: job.unprocessed.length > 0 ? [...job.unprocessed] : null },
  };
}

/**
 * Where a contact is kept, as the directory's deduplication decides: one key per extRef (or
 * email) merges contacts; a fresh key makes a new contact.
 * @param {FakeContext} ctx @param {string} directoryId @param {string} extRef @param {unknown} email
 */
function contactKey(ctx, directoryId, extRef, email) {
  const on = ctx.state.deduplicateOn;
  if (on === "extRef") return `${directoryId}:${extRef}`;
  if (on === "email" && typeof email === "string") return `${directoryId}:email:${email}`;
  return `${directoryId}:${qid("CID_")}`;
}

/**
 * One page of a batch's transactions, each with its ids and its transaction data. Where the data
 * sits is not settled: elements alternate between beside the ids and inside `transactionData`.
 * @param {FakeContext} ctx @param {string} directoryId @param {string} batchId
 * @param {URLSearchParams} query @param {string} baseUrl
 */
function listBatchTransactions(ctx, directoryId, batchId, query, baseUrl) {
  const batch = ctx.state.batches[batchId];
  if (!batch || batch.directoryId !== directoryId) {
    throw new ApiError(404, "NOT_FOUND", `Transaction batch ${batchId} not found`);
  }
  const skip = Number(query.get("skipToken") ?? "0");
  if (!Number.isInteger(skip) || skip < 0) badRequest("skipToken is not valid");
  const ids = new Set(batch.transactionIds);
  const all = ctx.state.transactions.filter((t) => ids.has(t.transactionId));
  const page = all.slice(skip, skip + ctx.pageSize);
  const next = skip + page.length;
  return {
    elements: page.map((t, i) => {
      const head = { id: t.transactionId, contactId: t.contactId };
      return (skip + i) % 2 === 0
        ? { ...head, transactionDate: t.createdAt, ...t.transactionData }
        : { ...head, transactionDate: t.createdAt, transactionData: { ...t.transactionData } };
    }),
    nextPage:
      next < all.length
        ? `${baseUrl}/directories/${directoryId}/transactionbatches/${batchId}/transactions?skipToken=${next}`
        : null,
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
    perMinute: 500,
    run: (ctx, { params, body }) => createTransactionBatch(ctx, params[0], body),
  },
  {
    method: "POST",
    pattern: pathPattern(IMPORTS),
    endpoint: "importTransactionContacts",
    perMinute: 100,
    run: (ctx, { params, body, baseUrl }) =>
      importTransactionContacts(ctx, params[0], params[1], body, baseUrl),
  },
  {
    method: "GET",
    pattern: pathPattern("/directories/:directoryId/transactionbatches/:batchId/transactions"),
    endpoint: "listBatchTransactions",
    perMinute: 500,
    run: (ctx, { params, query, baseUrl }) =>
      listBatchTransactions(ctx, params[0], params[1], query, baseUrl),
  },
  {
    method: "GET",
    pattern: pathPattern(`${IMPORTS}/:importId/summary`),
    endpoint: "getTransactionImportSummary",
    perMinute: 500,
    run: (ctx, { params }) => transactionImportStatus(ctx, params, true),
  },
  {
    method: "GET",
    pattern: pathPattern(`${IMPORTS}/:importId`),
    endpoint: "getTransactionImport",
    perMinute: 500,
    run: (ctx, { params }) => transactionImportStatus(ctx, params, false),
  },
];
