/**
 * Issuing links: validate against the survey, sign the link's values and record the invite with
 * that signature (`sig`) in the ledger shard its survey and transaction id place it in, in one
 * round trip per shard (in parallel) whatever the batch size. Nothing goes to KV: the tap
 * rebuilds the link from the row its claim returns and checks it against `sig`.
 * Idempotent on (survey, transactionId): the same request again gets the same link (200), a
 * different request for the same pair gets 409. The pair always lands in the same shard, where
 * the ledger's UNIQUE constraint decides; pairs issued under an earlier shard count (every
 * count of the shard-count history not retired, and LEDGER_SHARDS_PREVIOUS) are looked up where
 * they went then, before anything is inserted.
 */
import type { Config } from "../config/config";
import type { ErrorBody, ErrorDetail } from "../http/errors";
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
  | { status: 400 | 409; error: ErrorBody };

export interface IssueContext {
  config: Config;
  store: Store;
  /** Origin for the link URLs (PUBLIC_BASE_URL, else the origin of the issue call). */
  origin: string;
  /** Earlier shard counts a retried call's transaction may have been placed under. */
  earlierShardCounts: readonly number[];
  now: number;
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

/**
 * The invites issued under an earlier shard count for these requests, in order (null: none).
 * One parallel round trip, and only for pairs whose shard moved since (usually none).
 */
async function findEarlierInvites(
  ctx: IssueContext,
  prepared: Prepared[],
): Promise<(InviteRow | null)[]> {
  const keys: TransactionKey[] = [];
  const owners: number[] = [];
  prepared.forEach((p, i) => {
    for (const shard of p.earlierShards) {
      keys.push({ shard, survey: p.invite.survey, transactionId: p.invite.transactionId });
      owners.push(i);
    }
  });
  const found: (InviteRow | null)[] = prepared.map(() => null);
  if (keys.length === 0) return found;
  const rows = await findInvitesByTransaction(ctx.store, keys);
  rows.forEach((row, k) => {
    const owner = owners[k];
    if (row && owner !== undefined) found[owner] = row;
  });
  return found;
}

/** A request whose pair already has an invite: the same request replays it, another conflicts. */
function answerExisting(ctx: IssueContext, p: Prepared, row: InviteRow | null): IssueResult {
  const replay = row && row.request_hash === p.invite.requestHash;
  return replay ? { status: 200, link: linkFromRow(ctx, row) } : CONFLICT;
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
  const all = await Promise.all(
    pending.map(async ({ index, request }) => ({ index, ...(await prepare(ctx, request)) })),
  );
  const earlier = await findEarlierInvites(ctx, all);
  const prepared = all.filter((p, i) => {
    const row = earlier[i];
    if (row) results.set(p.index, answerExisting(ctx, p, row));
    return !row;
  });

  const inserted = await insertInvites(
    ctx.store,
    prepared.map((p) => p.invite),
  );
  const lost = prepared.filter((_, i) => !inserted[i]);
  const existing = await findInvitesByTransaction(
    ctx.store,
    lost.map((p) => ({ ...p.invite, shard: inviteIdShard(p.invite.id) })),
  );
  prepared.forEach((p, i) => {
    if (inserted[i]) results.set(p.index, { status: 201, link: newLink(ctx, p.invite) });
    else results.set(p.index, answerExisting(ctx, p, existing[lost.indexOf(p)] ?? null));
  });
  return requests.map((_, index) => {
    const result = results.get(index);
    if (!result) throw new Error("every request gets a result");
    return result;
  });
}
