/**
 * The contact decision of issue calls (docs/contact-rules.md): opt-out, sample, frequency, cap,
 * in that order, for each request of a call. The customer's home shard decides in one
 * conditional write per request (`home-rows.ts`); requests of one call go to each home shard in
 * one batch, in order, so two items for one customer see each other. What is read here explains
 * the answer (which check, which rule, when eligible); the write is what makes it exact.
 *
 * Round trips: none without CUSTOMER_HASH_KEY and caps; otherwise one to each home shard
 * involved (in parallel), plus one to the customer's earlier shards when a shard-count raise
 * moved them (rare). Reservations are confirmed or released afterwards (`settleReservations`),
 * off the answer's path. A reservation left unconfirmed for 10 s (its call crashed between the
 * two writes) is settled by the next decision it would suppress: confirmed if its invite exists,
 * else released, and that request is decided again.
 */
import type { Config } from "../config/config";
import { ConfigError } from "../config/config";
import type { ContactRule } from "../config/contact-rules";
import { findInvite } from "../store/links";
import { mapOnShards, onShardsHolding, type Store } from "../store/store";
import { customerHashes, placeCustomer } from "./customer";
import {
  type ContactEvent,
  capShare,
  frequencyVerdict,
  longestWindowMs,
  nextUtcDay,
  type OptOutRecord,
  optedOutOf,
  rulesFor,
  type SuppressionReason,
  utcDay,
} from "./evaluate";
import {
  confirmReservations,
  decideOnHomeShard,
  type HomeDecisionInput,
  type HomeState,
  type Reservation,
  readCustomerRecords,
  releaseReservations,
  type SqlRule,
  type StaleRow,
  settleStaleRows,
} from "./home-rows";
import { inSample } from "./sampling";

/** One request to decide. */
interface ContactRequest {
  survey: string;
  customerId: string;
  transactionId: string;
  trigger: string;
  /** The id its invite will have, if issued. */
  inviteId: string;
}

interface Suppression {
  reason: SuppressionReason;
  rule: string | null;
  eligibleAt: number | null;
}

/**
 * `issue`: insert the invite (a replay when the pair has one). With a reservation, confirm it
 * once the invite exists; if `ownReservation` and the invite is not inserted, release it.
 * `suppress`: record the suppression (a replay when the pair already has a decision).
 */
export type ContactDecision =
  | { kind: "issue"; reservation: HomeReservation | null }
  | ({ kind: "suppress" } & Suppression);

export interface HomeReservation extends Reservation {
  home: number;
  /** This call made it (an earlier call's is never released here). */
  own: boolean;
}

interface DecisionContext {
  config: Config;
  store: Store;
  now: number;
  /** Every shard count ever served below the configured one. */
  earlierShardCounts: readonly number[];
}

/** A customer's records on their earlier shards (merged over those shards). */
interface EarlierRecords {
  optOuts: OptOutRecord[];
  history: ContactEvent[];
}

interface Pending {
  index: number;
  request: ContactRequest;
  rules: ContactRule[];
  sampled: boolean;
  home: number;
  earlier: number[];
  hashes: string[];
  cap: { share: number; day: number } | null;
}

const sqlRule = (rule: ContactRule, now: number, earlier: EarlierRecords | undefined): SqlRule => {
  const since = now - rule.days * 86_400_000;
  const counted = (earlier?.history ?? []).filter((e) => {
    const at =
      rule.count === "opened"
        ? e.openedAt
        : rule.count === "completed"
          ? e.completedAt
          : e.decidedAt;
    return (
      at !== null &&
      at > since &&
      (rule.surveys?.includes(e.survey) ?? true) &&
      (rule.triggers?.includes(e.trigger) ?? true)
    );
  });
  return {
    since,
    max: rule.max,
    earlier: counted.length,
    count: rule.count,
    surveys: rule.surveys ?? null,
    triggers: rule.triggers ?? null,
  };
};

/** Reads what the customers' earlier shards hold (only customers a raise moved). */
async function readEarlier(
  store: Store,
  pending: readonly Pending[],
  since: number,
): Promise<Map<number, EarlierRecords>> {
  const lookups = pending.flatMap((p) => p.earlier.map((shard) => ({ shard, p })));
  const found = new Map<number, EarlierRecords>();
  if (lookups.length === 0) return found;
  const answers = await mapOnShards(
    store,
    lookups,
    (l) => l.shard,
    (db, items) => Promise.all(items.map((l) => readCustomerRecords(db, l.p.hashes, since))),
    () => ({ optOuts: [], history: [] }),
  );
  lookups.forEach((l, i) => {
    const answer = answers[i];
    if (!answer) return;
    const records = found.get(l.p.index) ?? { optOuts: [], history: [] };
    records.optOuts.push(...answer.optOuts);
    records.history.push(...answer.history);
    found.set(l.p.index, records);
  });
  return found;
}

/** Why a request the home shard did not reserve is suppressed, checks in their order. */
function explain(p: Pending, state: HomeState, earlier: EarlierRecords | undefined, now: number) {
  const optOuts = [...state.optOuts, ...(earlier?.optOuts ?? [])];
  if (optedOutOf(optOuts, p.request.survey)) {
    return { reason: "opted_out", rule: null, eligibleAt: null } as const;
  }
  if (!p.sampled) return { reason: "sampled_out", rule: null, eligibleAt: null } as const;
  const events = [...state.history, ...(earlier?.history ?? [])];
  const verdict = frequencyVerdict(p.rules, events, now);
  if (verdict)
    return { reason: "frequency", rule: verdict.rule, eligibleAt: verdict.eligibleAt } as const;
  if (p.cap && (state.capUsed ?? 0) >= p.cap.share) {
    return { reason: "cap", rule: null, eligibleAt: nextUtcDay(now) } as const;
  }
  return null;
}

/**
 * Decides every request (already valid, surveys known), one decision per request in order.
 * Throws a `ConfigError` while CONTACT_RULES or CUSTOMER_HASH_KEY is wrong: no issuing then.
 */
export async function decideContacts(
  ctx: DecisionContext,
  requests: readonly ContactRequest[],
  retried = false,
): Promise<ContactDecision[]> {
  const { contact } = ctx.config;
  if (contact.problems.length > 0) throw new ConfigError(contact.problems);
  const keepHistory = contact.rules.length > 0;
  const shards = ctx.config.ledgerShards;
  const decisions: ContactDecision[] = requests.map(() => ({ kind: "issue", reservation: null }));
  const pending: Pending[] = [];
  await Promise.all(
    requests.map(async (request, index) => {
      const survey = ctx.config.surveys.get(request.survey);
      if (!survey) throw new Error("decideContacts() called for an unchecked request");
      const sampled = await inSample(
        survey.key,
        survey.sampleSeed,
        request.customerId,
        survey.sample,
      );
      const cap = survey.dailyCap
        ? { share: capShare(survey.dailyCap, shards), day: utcDay(ctx.now) }
        : null;
      if (contact.hashKeys.length === 0 && !cap) {
        // Nothing to look up: opt-outs cannot have been recorded without the key.
        if (!sampled) {
          decisions[index] = {
            kind: "suppress",
            reason: "sampled_out",
            rule: null,
            eligibleAt: null,
          };
        }
        return;
      }
      const placement = await placeCustomer(request.customerId, shards, ctx.earlierShardCounts);
      pending.push({
        index,
        request,
        rules: rulesFor(contact.rules, request.survey, request.trigger),
        sampled,
        cap,
        home: placement.shard,
        earlier: placement.earlier,
        hashes: await customerHashes(contact.hashKeys, request.customerId),
      });
    }),
  );
  if (pending.length === 0) return decisions;
  pending.sort((a, b) => a.index - b.index); // per home shard, in request order
  const historySince = ctx.now - longestWindowMs(contact.rules);
  const earlier = await readEarlier(ctx.store, pending, historySince);
  const inputs: HomeDecisionInput[] = pending.map((p) => {
    const before = earlier.get(p.index);
    return {
      hashes: p.hashes,
      survey: p.request.survey,
      transactionId: p.request.transactionId,
      trigger: p.request.trigger,
      inviteId: p.request.inviteId,
      now: ctx.now,
      eligible: p.sampled && !optedOutOf(before?.optOuts ?? [], p.request.survey),
      keepHistory,
      rules: p.rules.map((r) => sqlRule(r, ctx.now, before)),
      cap: p.cap,
      historySince,
    };
  });
  const states = await mapOnShards(
    ctx.store,
    inputs.map((input, i) => ({ input, home: pending[i]?.home ?? 0 })),
    (item) => item.home,
    (db, items) =>
      decideOnHomeShard(
        db,
        items.map((item) => item.input),
      ),
    (shard) => {
      throw new Error(`customer placement named shard ${shard}, which is not configured`);
    },
  );
  const stale: { p: Pending; rows: HomeState["history"] }[] = [];
  pending.forEach((p, i) => {
    const state = states[i];
    if (!state) throw new Error("every request gets a home state");
    const decision = decisionFor(p, state, earlier.get(p.index), ctx.now);
    decisions[p.index] = decision;
    const unconfirmed = state.history.filter(
      (e) => !e.confirmed && e.inviteId !== null && e.decidedAt < ctx.now - STALE_MS,
    );
    if (decision.kind === "suppress" && decision.reason === "frequency" && unconfirmed.length > 0) {
      stale.push({ p, rows: unconfirmed });
    }
  });
  if (stale.length > 0 && !retried) {
    // Reservations a crashed call left: settled, then these requests decided once more.
    await settleStale(ctx, stale);
    const again = await decideContacts(
      ctx,
      stale.map(({ p }) => p.request),
      true,
    );
    stale.forEach(({ p }, i) => {
      const decision = again[i];
      if (decision) decisions[p.index] = decision;
    });
  }
  return decisions;
}

/** A reservation unconfirmed this long lost its call (a crash between the two writes). */
const STALE_MS = 10_000;

/** Confirms the stale reservations whose invite exists, releases the others. */
async function settleStale(
  ctx: DecisionContext,
  stale: readonly { p: Pending; rows: HomeState["history"] }[],
): Promise<void> {
  const checked = await Promise.all(
    stale.flatMap(({ p, rows }) =>
      rows.map(async (row): Promise<{ home: number; row: StaleRow }> => {
        const inviteId = row.inviteId ?? "";
        const capped = ctx.config.surveys.get(row.survey)?.dailyCap !== undefined;
        const exists = (await findInvite(ctx.store, inviteId)) !== null;
        const capDay = capped ? utcDay(row.decidedAt) : null;
        return {
          home: p.home,
          row: { kind: "reservation", inviteId, survey: row.survey, exists, capDay },
        };
      }),
    ),
  );
  const decisions = stale.map(({ p }) => ({
    home: p.home,
    row: {
      kind: "decision" as const,
      hash: p.hashes[0] ?? "",
      survey: p.request.survey,
      transactionId: p.request.transactionId,
    },
  }));
  await onShardsHolding(
    ctx.store,
    [...checked, ...decisions],
    (c) => c.home,
    (db, items) =>
      settleStaleRows(
        db,
        items.map((i) => i.row),
      ),
  );
}

function decisionFor(
  p: Pending,
  state: HomeState,
  earlier: EarlierRecords | undefined,
  now: number,
): ContactDecision {
  const [hash] = p.hashes;
  const reservation = (own: boolean): HomeReservation => ({
    home: p.home,
    own,
    hash: hash ?? "",
    survey: p.request.survey,
    transactionId: p.request.transactionId,
    inviteId: p.request.inviteId,
    capDay: p.cap?.day ?? null,
  });
  if (state.reserved) return { kind: "issue", reservation: reservation(true) };
  // An earlier call for this pair reserved: the invite is replayed (or, if it never appeared,
  // inserted now and the reservation completed with it).
  if (state.pair?.outcome === "issued") {
    return { kind: "issue", reservation: hash ? reservation(false) : null };
  }
  const suppression = explain(p, state, earlier, now);
  if (suppression) return { kind: "suppress", ...suppression };
  // Allowed, and nothing to reserve (no history kept, no cap), or a suppressed pair whose
  // record must be replayed from the transaction's shard.
  return { kind: "issue", reservation: null };
}

/**
 * After the invites were inserted: confirms the reservations whose invite exists and releases
 * the ones of this call whose invite will not (a replay or a conflict). One batch per home shard.
 */
export async function settleReservations(
  store: Store,
  confirmed: readonly HomeReservation[],
  released: readonly HomeReservation[],
): Promise<void> {
  await Promise.all([
    onShardsHolding(store, confirmed, (r) => r.home, confirmReservations),
    onShardsHolding(
      store,
      released.filter((r) => r.own),
      (r) => r.home,
      releaseReservations,
    ),
  ]);
}
