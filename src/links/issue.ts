/**
 * Issuing links: validate against the survey, sign the link's values and record the invite with
 * that signature (`sig`) in the ledger shard its survey and transaction id place it in, in one
 * round trip per shard (in parallel) whatever the batch size. Nothing goes to KV: the tap
 * rebuilds the link from the row its claim returns and checks it against `sig`.
 * Idempotent on (survey, transactionId): the same request again gets the same link (200), a
 * different request for the same pair gets 409. The pair always lands in the same shard, where
 * the ledger's UNIQUE constraint decides; pairs issued under an earlier shard count (every
 * count of the shard-count history not retired, and LEDGER_SHARDS_PREVIOUS) are looked up where
 * they went then, before anything is inserted. A replay for a survey since removed from the
 * configuration answers its link, with the status `survey_removed`.
 *
 * Who gets invited is decided after that lookup and before the insert (src/rules/: opt-out,
 * sample, frequency, cap): a suppressed request records its decision where the pair's invite
 * would have gone, so a retry replays it the same way (200, or 409 for a different body).
 */
import type { Config } from "../config/config";
import type { ErrorBody, ErrorDetail } from "../http/errors";
import {
  type ContactDecision,
  decideContacts,
  findSuppressions,
  type HomeReservation,
  recordSuppressions,
  type SuppressedAnswer,
  type SuppressionRow,
  settleReservations,
  suppressedAnswer,
} from "../rules";
import type { InviteRow, NewInvite } from "../store/invite-rows";
import { iso, type LinkStatus, linkStatus } from "../store/link-status";
import { findInvitesByTransaction, insertInvites, type TransactionKey } from "../store/links";
import { placeTransaction } from "../store/placement";
import type { Store } from "../store/store";
import { inviteIdShard, newInviteId } from "../tokens/ids";
import { signLinkValues } from "../tokens/link-signature";
import { toQualtricsLanguage } from "./language";
import type { LinkRequest } from "./schema";
import { inviteValues } from "./survey-link";

interface Link {
  id: string;
  url: string;
  expiresAt: string;
  survey: string;
  status: LinkStatus;
}

export type IssueResult =
  | { status: 201 | 200; link: Link }
  | { status: 200; suppressed: SuppressedAnswer }
  | { status: 400 | 409; error: ErrorBody };

export interface IssueContext {
  config: Config;
  store: Store;
  /** Origin for the link URLs (PUBLIC_BASE_URL, else the origin of the issue call). */
  origin: string;
  /** Earlier shard counts a retried call's transaction may have been placed under. */
  earlierShardCounts: readonly number[];
  /** Every shard count ever served below LEDGER_SHARDS: where customers' records may sit. */
  everServedShardCounts: readonly number[];
  now: number;
  /** Work that finishes after the answer (the request's `waitUntil`). */
  background: (work: Promise<unknown>) => void;
  /** Told of each request this call suppressed (not of replays): the `invite.suppressed` event. */
  onSuppressed?: (suppression: {
    survey: string;
    transactionId: string;
    trigger: string;
    reason: string;
    at: number;
  }) => void;
}

/** Rules that depend on the survey's configuration; paths are relative to the link request. */
function checkAgainstSurvey(config: Config, request: LinkRequest): ErrorDetail[] {
  const survey = config.surveys.get(request.survey);
  if (!survey) return [{ path: "survey", message: `unknown survey "${request.survey}"` }];
  const details: ErrorDetail[] = [];
  for (const name of Object.keys(request.embeddedData ?? {})) {
    if (!survey.fields.includes(name)) {
      details.push({
        path: `embeddedData.${name}`,
        message: `not a field of survey "${survey.key}" (declared: ${survey.fields.join(", ") || "none"})`,
      });
    }
  }
  if (request.ttlSeconds !== undefined && request.ttlSeconds > survey.maxTtlSeconds) {
    details.push({
      path: "ttlSeconds",
      message: `must be at most ${survey.maxTtlSeconds} for survey "${survey.key}"`,
    });
  }
  return details;
}

const encoder = new TextEncoder();

/**
 * SHA-256 over a canonical form of the request, so key order in the JSON does not matter. The
 * language counts as its Qualtrics code (`fr-CA` and `FR-CA` are the same request), and only when
 * given, so requests without one hash as they did before languages existed.
 */
async function requestHash(request: LinkRequest, language: string | null): Promise<string> {
  const embedded = Object.entries(request.embeddedData ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const canonical = JSON.stringify([
    request.survey,
    request.customerId,
    request.transactionId,
    request.trigger,
    request.channel ?? null,
    embedded,
    request.ttlSeconds ?? null,
    ...(language === null ? [] : [language]),
  ]);
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(canonical));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function newLink(ctx: IssueContext, invite: NewInvite): Link {
  return {
    id: invite.id,
    url: `${ctx.origin}/s/${invite.id}`,
    expiresAt: iso(invite.expiresAt),
    survey: invite.survey,
    status: "issued",
  };
}

function linkFromRow(ctx: IssueContext, row: InviteRow): Link {
  return {
    id: row.id,
    url: `${ctx.origin}/s/${row.id}`,
    expiresAt: iso(row.expires_at),
    survey: row.survey,
    status: linkStatus(row, ctx.now, ctx.config.surveys),
  };
}

interface Prepared {
  invite: NewInvite;
  /** Shards this pair went to under earlier shard counts (usually none). */
  earlierShards: number[];
}

/** A prepared request and its position in the call. */
type Numbered = Prepared & { index: number };

async function prepare(ctx: IssueContext, request: LinkRequest): Promise<Prepared> {
  const survey = ctx.config.surveys.get(request.survey);
  if (!survey) throw new Error("prepare() called for an unchecked request");
  const placement = await placeTransaction(
    request.survey,
    request.transactionId,
    ctx.config.ledgerShards,
    ctx.earlierShardCounts,
  );
  const id = newInviteId(placement.shard);
  const expiresAt = ctx.now + (request.ttlSeconds ?? survey.defaultTtlSeconds) * 1000;
  const embeddedData = request.embeddedData ?? {};
  const source = { ...request, embeddedData };
  const language = request.language === undefined ? null : toQualtricsLanguage(request.language);
  const [sig, hash] = await Promise.all([
    signLinkValues(ctx.config, inviteValues(id, source)),
    requestHash(request, language),
  ]);
  return {
    earlierShards: placement.earlier,
    invite: {
      id,
      survey: request.survey,
      transactionId: request.transactionId,
      customerRef: request.customerId,
      trigger: request.trigger,
      channel: request.channel ?? null,
      language,
      embeddedData: JSON.stringify(embeddedData),
      requestHash: hash,
      issuedAt: ctx.now,
      expiresAt,
      sig,
    },
  };
}

/** The error of a link request that is not valid (schema or survey rules). */
export function invalidLink(details: ErrorDetail[]): IssueResult {
  return {
    status: 400,
    error: { code: "invalid_request", message: "The link request is invalid.", details },
  };
}

const CONFLICT: IssueResult = {
  status: 409,
  error: {
    code: "conflict",
    message: "A different link was already issued for this survey and transactionId.",
    details: [{ path: "transactionId", message: "already used with a different request" }],
  },
};

/** A decision recorded under an earlier shard count: its invite, or its suppression. */
interface EarlierDecision {
  invite: InviteRow | null;
  suppression: SuppressionRow | null;
}

/**
 * The decisions recorded under an earlier shard count for these requests, in order (null:
 * none). One parallel round trip, and only for pairs whose shard moved since (usually none).
 */
async function findEarlierDecisions(
  ctx: IssueContext,
  prepared: Prepared[],
): Promise<(EarlierDecision | null)[]> {
  const keys: TransactionKey[] = [];
  const owners: number[] = [];
  prepared.forEach((p, i) => {
    for (const shard of p.earlierShards) {
      keys.push({ shard, survey: p.invite.survey, transactionId: p.invite.transactionId });
      owners.push(i);
    }
  });
  const found: (EarlierDecision | null)[] = prepared.map(() => null);
  if (keys.length === 0) return found;
  const [rows, suppressions] = await Promise.all([
    findInvitesByTransaction(ctx.store, keys),
    findSuppressions(ctx.store, keys),
  ]);
  keys.forEach((_, k) => {
    const owner = owners[k];
    const invite = rows[k] ?? null;
    const suppression = suppressions[k] ?? null;
    if ((invite || suppression) && owner !== undefined) found[owner] = { invite, suppression };
  });
  return found;
}

/**
 * A request whose pair already has a decision (an invite, or a suppression): the same request
 * replays it, another conflicts.
 */
function answerExisting(
  ctx: IssueContext,
  p: Prepared,
  row: InviteRow | null,
  suppression: SuppressionRow | null = null,
): IssueResult {
  if (row) {
    return row.request_hash === p.invite.requestHash
      ? { status: 200, link: linkFromRow(ctx, row) }
      : CONFLICT;
  }
  if (suppression?.request_hash === p.invite.requestHash) {
    return { status: 200, suppressed: suppressedAnswer(suppression) };
  }
  return CONFLICT;
}

/**
 * Requests for a survey no longer configured get `unknown survey`, unless they replay a link
 * issued before the survey was removed: then that link is the answer (200), with its status
 * `survey_removed` while it lives, so a retried call never reads as a link to send.
 */
async function replayRemovedSurveys(
  ctx: IssueContext,
  requests: readonly LinkRequest[],
  results: Map<number, IssueResult>,
): Promise<void> {
  const removed = requests.flatMap((request, index) =>
    ctx.config.surveys.has(request.survey) ? [] : [{ request, index }],
  );
  if (removed.length === 0) return;
  const keys: TransactionKey[] = [];
  const owners: number[] = [];
  for (const [i, { request }] of removed.entries()) {
    const placement = await placeTransaction(
      request.survey,
      request.transactionId,
      ctx.config.ledgerShards,
      ctx.earlierShardCounts,
    );
    for (const shard of [placement.shard, ...placement.earlier]) {
      keys.push({ shard, survey: request.survey, transactionId: request.transactionId });
      owners.push(i);
    }
  }
  const rows = await findInvitesByTransaction(ctx.store, keys);
  for (const [k, row] of rows.entries()) {
    const owner = removed[owners[k] ?? -1];
    if (!row || !owner) continue;
    const { language } = owner.request;
    const hash = await requestHash(
      owner.request,
      language === undefined ? null : toQualtricsLanguage(language),
    );
    if (row.request_hash === hash) {
      results.set(owner.index, { status: 200, link: linkFromRow(ctx, row) });
    }
  }
}

/** Issues every request (already schema-valid); one result per request, in order. */
export async function issueLinks(
  ctx: IssueContext,
  requests: LinkRequest[],
): Promise<IssueResult[]> {
  const results = new Map<number, IssueResult>();
  const pending: { index: number; request: LinkRequest }[] = [];
  requests.forEach((request, index) => {
    const details = checkAgainstSurvey(ctx.config, request);
    if (details.length > 0) results.set(index, invalidLink(details));
    else pending.push({ index, request });
  });
  await replayRemovedSurveys(ctx, requests, results);
  const all = await Promise.all(
    pending.map(async ({ index, request }) => ({ index, ...(await prepare(ctx, request)) })),
  );
  const earlier = await findEarlierDecisions(ctx, all);
  const prepared = all.filter((p, i) => {
    const decision = earlier[i];
    if (decision) {
      results.set(p.index, answerExisting(ctx, p, decision.invite, decision.suppression));
    }
    return !decision;
  });

  const decisions = await decideContacts(
    {
      config: ctx.config,
      store: ctx.store,
      now: ctx.now,
      earlierShardCounts: ctx.everServedShardCounts,
    },
    prepared.map((p) => ({ ...p.invite, customerId: p.invite.customerRef, inviteId: p.invite.id })),
  );
  await recordDecisions(ctx, prepared, decisions, results);
  return requests.map((_, index) => {
    const result = results.get(index);
    if (!result) throw new Error("every request gets a result");
    return result;
  });
}

/**
 * Inserts the invites and suppressions decided (one round trip per shard, in parallel), answers
 * each, replays what an earlier call decided, and settles the reservations in the background.
 */
async function recordDecisions(
  ctx: IssueContext,
  prepared: Numbered[],
  decisions: ContactDecision[],
  results: Map<number, IssueResult>,
): Promise<void> {
  const issuing: { p: Numbered; reservation: HomeReservation | null }[] = [];
  const suppressing: { p: Numbered; decision: ContactDecision & { kind: "suppress" } }[] = [];
  prepared.forEach((p, i) => {
    const decision = decisions[i];
    if (decision?.kind === "suppress") suppressing.push({ p, decision });
    else issuing.push({ p, reservation: decision?.reservation ?? null });
  });
  const [inserted, recorded] = await Promise.all([
    insertInvites(
      ctx.store,
      issuing.map(({ p }) => p.invite),
    ),
    recordSuppressions(
      ctx.store,
      suppressing.map(({ p, decision }) => ({
        shard: inviteIdShard(p.invite.id),
        survey: p.invite.survey,
        transactionId: p.invite.transactionId,
        customerRef: p.invite.customerRef,
        trigger: p.invite.trigger,
        channel: p.invite.channel,
        requestHash: p.invite.requestHash,
        reason: decision.reason,
        rule: decision.rule,
        eligibleAt: decision.eligibleAt,
        decidedAt: ctx.now,
      })),
    ),
  ]);
  const lost = [
    ...issuing.filter((_, i) => !inserted[i]).map(({ p }) => p),
    ...suppressing.filter((_, i) => !recorded[i]).map(({ p }) => p),
  ];
  const keys = lost.map((p) => ({ ...p.invite, shard: inviteIdShard(p.invite.id) }));
  const [existing, existingSuppressions] = await Promise.all([
    findInvitesByTransaction(ctx.store, keys),
    findSuppressions(ctx.store, keys),
  ]);
  const answerLost = (p: Numbered) => {
    const k = lost.indexOf(p);
    return answerExisting(ctx, p, existing[k] ?? null, existingSuppressions[k] ?? null);
  };
  const confirmed: HomeReservation[] = [];
  const released: HomeReservation[] = [];
  issuing.forEach(({ p, reservation }, i) => {
    if (inserted[i]) {
      results.set(p.index, { status: 201, link: newLink(ctx, p.invite) });
      if (reservation) confirmed.push(reservation);
    } else {
      results.set(p.index, answerLost(p));
      if (reservation) released.push(reservation);
    }
  });
  suppressing.forEach(({ p, decision }, i) => {
    const answer = {
      status: 200 as const,
      suppressed: suppressedAnswer({
        survey: p.invite.survey,
        transaction_id: p.invite.transactionId,
        reason: decision.reason,
        rule: decision.rule,
        eligible_at: decision.eligibleAt,
      }),
    };
    results.set(p.index, recorded[i] ? answer : answerLost(p));
    if (recorded[i]) {
      ctx.onSuppressed?.({
        survey: p.invite.survey,
        transactionId: p.invite.transactionId,
        trigger: p.invite.trigger,
        reason: decision.reason,
        at: ctx.now,
      });
    }
  });
  if (confirmed.length > 0 || released.length > 0) {
    ctx.background(settleReservations(ctx.store, confirmed, released));
  }
}
