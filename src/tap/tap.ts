/**
 * The tap: `GET|HEAD|POST /s/:id`. A fresh tap waits for one storage round trip before its 302:
 * the claim in the invite's shard returns, in the same batch, the row with its signed token (or
 * why it was refused), while the KV consumed mark is read side by side; when KV already marks
 * the link consumed the tap is refused at once, without waiting for the ledger. The mark is
 * written lazily, by the first tap the ledger refuses, in `waitUntil`. Previews and re-opens read
 * the row (one round trip) and never claim. Counters of re-opens, refusals and previews are
 * batched across taps (`tap-recorder.ts`). Every tap is recorded in the ledger, so normal
 * taps are not logged; logs are for what needs an operator (rejected tokens, store failures).
 */
import type { Context } from "hono";
import type { Config } from "../config/config";
import { describeError, log } from "../core/log";
import { clientAddress } from "../http/client-address";
import type { AppEnv } from "../http/context";
import { inviteValues, linkValueSourceFromRow, surveyRedirectUrl } from "../links";
import { isTransientStoreFailure, STORE_RETRY_AFTER_SECONDS } from "../store/failures";
import type { InviteRow, TapContext, TapOutcome } from "../store/invite-rows";
import {
  claimInvite,
  consumedMark,
  findInvite,
  forgetLinks,
  markConsumed,
  releaseClaim,
} from "../store/links";
import type { Store } from "../store/store";
import { isInviteId } from "../tokens/ids";
import { type VerifiedInvite, verifyInviteToken } from "../tokens/invite-token";
import { signLinkValues } from "../tokens/link-signature";
import {
  claimCookieHeader,
  clearRetryCookieHeader,
  hasClaimCookie,
  newClaimNonce,
  retryCookieHeader,
  retryNonce,
} from "./claim-cookie";
import { choosePageLanguage } from "./page-language";
import type { PageLanguage } from "./page-text";
import { confirmPageCsp, PAGE_CSP, type PageKind, renderPage } from "./pages";
import { isPreviewAgent, userAgentClass } from "./preview";
import { countUnknownId, limitTap } from "./tap-limits";
import { recordTapLater } from "./tap-recorder";

type TapCtx = Context<AppEnv>;

const TAP_HEADERS = {
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "X-Robots-Tag": "noindex, nofollow",
  "X-Content-Type-Options": "nosniff",
};

export function page(
  kind: PageKind,
  language: PageLanguage,
  extraHeaders: Record<string, string> = {},
  confirmAction?: string,
) {
  const { status, html } = renderPage(kind, language, confirmAction);
  return new Response(html, {
    status,
    headers: {
      ...TAP_HEADERS,
      "Content-Type": "text/html; charset=utf-8",
      "Content-Language": language,
      "Content-Security-Policy": PAGE_CSP,
      ...extraHeaders,
    },
  });
}

/** The language of a tap's page: the invite's when its row (or KV mark) says, else the browser's. */
const lang = (c: TapCtx, inviteLanguage?: string | null) =>
  choosePageLanguage(inviteLanguage, c.req.header("Accept-Language"));

function redirect(location: string, cookies: string[] = []): Response {
  const headers = new Headers({ ...TAP_HEADERS, Location: location });
  for (const cookie of cookies) headers.append("Set-Cookie", cookie);
  return new Response(null, { status: 302, headers });
}

function inBackground(c: TapCtx, task: Promise<unknown>, what: string, inviteId: string): void {
  c.executionCtx.waitUntil(
    task.catch((error: unknown) =>
      log("background_write_failed", {
        what,
        inviteId,
        requestId: c.get("requestId"),
        error: describeError(error),
      }),
    ),
  );
}

function record(c: TapCtx, id: string, outcome: TapOutcome, tap: TapContext): void {
  recordTapLater(c.get("store"), { ...tap, inviteId: id, outcome }, (p) =>
    c.executionCtx.waitUntil(p),
  );
}

/** Surveys a tap may claim: all configured ones for a POST, those without a confirm page for a GET. */
const claimable = new WeakMap<Config, { confirmed: string[]; direct: string[] }>();

function claimableSurveys(config: Config, method: string): string[] {
  let lists = claimable.get(config);
  if (!lists) {
    const surveys = [...config.surveys.values()];
    lists = {
      confirmed: surveys.map((s) => s.key),
      direct: surveys.filter((s) => !s.confirm).map((s) => s.key),
    };
    claimable.set(config, lists);
  }
  return method === "POST" ? lists.confirmed : lists.direct;
}

/** The token's `exp` is whole seconds; the ledger's expiry (ms) is what decides. */
const TOKEN_CLOCK_TOLERANCE_SECONDS = 1;

/**
 * The invite a redirect is built from: its signed token verified, or for links issued before
 * tokens moved into the ledger, its values rebuilt from the row and signed again. Null when the
 * token does not verify (it is logged) or the values are gone (purged).
 */
async function inviteOf(c: TapCtx, row: InviteRow): Promise<VerifiedInvite | null> {
  const config = c.get("config");
  if (row.token !== null) {
    const verified = await verifyInviteToken(config, row.id, row.token, {
      clockTolerance: TOKEN_CLOCK_TOLERANCE_SECONDS,
    });
    if (verified.ok) return verified.invite;
    log("token_rejected", { requestId: c.get("requestId"), inviteId: row.id });
    return null;
  }
  const source = linkValueSourceFromRow(row);
  if (!source) return null;
  return {
    ...source,
    id: row.id,
    survey: row.survey,
    expiresAt: row.expires_at,
    ...(row.channel ? { channel: row.channel } : {}),
    ...(row.language ? { language: row.language } : {}),
    sig: await signLinkValues(config, inviteValues(row.id, source)),
  };
}

/** Where the survey of a claimed invite lands, or null when it cannot be trusted or configured. */
async function surveyTarget(
  c: TapCtx,
  row: InviteRow,
): Promise<{ url: string; expiresAt: number } | null> {
  const invite = await inviteOf(c, row);
  const survey = invite && c.get("config").surveys.get(invite.survey);
  if (!invite || !survey) return null;
  return { url: surveyRedirectUrl(survey, row.id, invite), expiresAt: invite.expiresAt };
}

/** What the ledger says of an invite that was not claimed by this tap. */
function refusal(row: InviteRow | null, now: number): PageKind | "claimable" | "consumed" {
  if (!row) return "not_found";
  if (row.erased_at !== null) return "erased";
  if (row.revoked_at !== null) return "revoked";
  if (row.consumed_at !== null) return row.expires_at > now ? "consumed" : "expired";
  if (row.expires_at <= now) return "expired";
  return "claimable";
}

/**
 * Answers a tap the ledger refuses, counting refusals, expired and revoked taps. An id the
 * ledger does not know counts against its address's budget of misses (walking ids).
 */
async function refuse(
  c: TapCtx,
  id: string,
  kind: PageKind,
  tap: TapContext,
  language: string | null | undefined,
): Promise<Response> {
  if (kind === "not_found") return unknownId(c);
  if (kind === "used") record(c, id, "blocked", tap);
  if (kind === "expired" || kind === "revoked") record(c, id, kind, tap);
  return page(kind, lang(c, language));
}

export async function handleTap(c: TapCtx): Promise<Response> {
  try {
    return await tap(c);
  } catch (error) {
    log("tap_failed", {
      requestId: c.get("requestId"),
      error: error instanceof Error ? error.name : "unknown",
      message: describeError(error),
    });
    return failurePage(c, error);
  }
}

/**
 * A transient store failure asks for a retry (503); anything else is a bug (500). Either way
 * `extraHeaders` go out: a claim whose outcome is unknown sets its retry nonce on both.
 */
function failurePage(
  c: TapCtx,
  error: unknown,
  extraHeaders: Record<string, string> = {},
): Response {
  if (!isTransientStoreFailure(error)) return page("error", lang(c), extraHeaders);
  return page("unavailable", lang(c), {
    "Retry-After": String(STORE_RETRY_AFTER_SECONDS),
    ...extraHeaders,
  });
}

const rateLimited = (c: TapCtx, wait: number) =>
  page("rate_limited", lang(c), { "Retry-After": String(wait) });

/** A tap on an id nobody issued: the 404 page, or 429 once its address walks too many. */
async function unknownId(c: TapCtx): Promise<Response> {
  const wait = await countUnknownId(c.env, c.get("config"), clientAddress(c.req.raw));
  return wait === null ? page("not_found", lang(c)) : rateLimited(c, wait);
}

async function tap(c: TapCtx): Promise<Response> {
  const id = c.req.param("id") ?? "";
  if (!isInviteId(id)) return unknownId(c);
  const config = c.get("config");
  const wait = await limitTap(c.env, config, clientAddress(c.req.raw), id);
  if (wait !== null) return rateLimited(c, wait);

  const userAgent = c.req.header("User-Agent") ?? "";
  const bot = isPreviewAgent(userAgent);
  const tapCtx: TapContext = {
    at: Date.now(),
    uaClass: userAgentClass(userAgent, bot),
    country: typeof c.req.raw.cf?.country === "string" ? c.req.raw.cf.country : null,
  };
  const store = c.get("store");
  // A preview agent never claims, whatever the method (scanners submit the confirm page's form).
  if (c.req.method === "HEAD" || bot) return preview(c, store, id, tapCtx);
  const cookies = c.req.header("Cookie");
  const earlierNonce = retryNonce(cookies);
  if (await hasClaimCookie(config.cookieSecret, id, cookies)) {
    return reopen(c, store, id, tapCtx, earlierNonce);
  }
  return claimOrRefuse(c, store, id, tapCtx, earlierNonce);
}

/** A link-preview bot or a HEAD request: a neutral page, counted, never a claim. */
async function preview(c: TapCtx, store: Store, id: string, tapCtx: TapContext) {
  const row = await findInvite(store, id);
  const state = refusal(row, tapCtx.at);
  if (state !== "claimable" && state !== "consumed") {
    return refuse(c, id, state, tapCtx, row?.language);
  }
  if (!row || !c.get("config").surveys.has(row.survey)) {
    return page("not_found", lang(c, row?.language));
  }
  record(c, id, "preview", tapCtx);
  return page("preview", lang(c, row.language));
}

/** The browser that claimed the link comes back: the survey again, until the link expires. */
async function reopen(
  c: TapCtx,
  store: Store,
  id: string,
  tapCtx: TapContext,
  earlierNonce: string | null,
): Promise<Response> {
  const row = await findInvite(store, id);
  const state = refusal(row, tapCtx.at);
  // Not consumed (yet): an ordinary tap.
  if (state === "claimable") return claimOrRefuse(c, store, id, tapCtx, earlierNonce);
  if (state !== "consumed") return refuse(c, id, state, tapCtx, row?.language);
  const target = row && (await surveyTarget(c, row));
  if (!target) return page("not_found", lang(c, row?.language));
  record(c, id, "reopened", tapCtx);
  return redirect(target.url);
}

/**
 * Claims the invite, reading the KV mark side by side: one storage round trip. A tap whose
 * claim gets no answer keeps its nonce in a cookie, so its retry can tell whether it won.
 */
async function claimOrRefuse(
  c: TapCtx,
  store: Store,
  id: string,
  tapCtx: TapContext,
  earlierNonce: string | null,
): Promise<Response> {
  const config = c.get("config");
  const method = c.req.method;
  const nonce = earlierNonce ?? newClaimNonce();
  // KV trouble only costs the fast path; the ledger still answers. A retry after a lost reply
  // asks the ledger only: the mark cannot tell whose claim it was.
  const marked =
    earlierNonce === null ? consumedMark(store, id).catch(() => null) : Promise.resolve(null);
  const claim = claimInvite(store, id, {
    tap: tapCtx,
    nonce,
    claimableSurveys: claimableSurveys(config, method),
  });
  // Handled below, or not needed at all when KV answers first.
  const settled = claim.catch(() => undefined);
  const mark = await marked;
  if (mark) {
    // Consumed for good, so the claim attempt changes nothing. Should the mark be stale (the
    // ledger let this tap claim), the claim is undone and the mark dropped: the tap was refused.
    inBackground(
      c,
      settled.then((r) => (r?.won ? dropStaleMark(c, store, id, nonce) : undefined)),
      "stale_mark",
      id,
    );
    return refuse(c, id, "used", tapCtx, mark.language);
  }
  let result: Awaited<typeof claim>;
  try {
    result = await claim;
  } catch (error) {
    // Whether the claim committed is unknown: this browser's retry will tell (its nonce).
    log("claim_failed", {
      requestId: c.get("requestId"),
      inviteId: id,
      error: describeError(error),
    });
    return failurePage(c, error, { "Set-Cookie": retryCookieHeader(id, nonce) });
  }
  const { won, row } = result;
  if (won && row) return openSurvey(c, store, row, tapCtx, nonce, earlierNonce !== null);
  const state = refusal(row, tapCtx.at);
  if (state === "consumed") {
    // The first refusal marks the link in KV: later repeat taps are refused from there.
    if (row) {
      const marking = markConsumed(store, id, row.expires_at, tapCtx.at, row.language);
      inBackground(c, marking, "consumed_mark", id);
    }
    return refuse(c, id, "used", tapCtx, row?.language);
  }
  if (state !== "claimable") return refuse(c, id, state, tapCtx, row?.language);
  if (!row) return page("not_found", lang(c));
  // Live but not claimable by this tap: its survey shows a confirm page first, or is not
  // configured (any more), or its data was purged.
  const survey = config.surveys.get(row.survey);
  if (survey?.confirm && method !== "POST" && row.customer_ref !== null) {
    const csp = confirmPageCsp(new URL(survey.url).origin);
    return page("confirm", lang(c, row.language), { "Content-Security-Policy": csp }, `/s/${id}`);
  }
  if (!survey) log("survey_not_configured", { requestId: c.get("requestId"), inviteId: id });
  return page("not_found", lang(c, row.language));
}

async function dropStaleMark(c: TapCtx, store: Store, id: string, nonce: string): Promise<void> {
  log("stale_consumed_mark", { requestId: c.get("requestId"), inviteId: id });
  await releaseClaim(store, id, nonce);
  await forgetLinks(store, [id]);
}

/**
 * The claim is this tap's (or this browser's earlier one's): cookie, then the survey. A token
 * that does not verify is never honoured, and its claim is undone.
 */
async function openSurvey(
  c: TapCtx,
  store: Store,
  row: InviteRow,
  tapCtx: TapContext,
  nonce: string,
  retried: boolean,
): Promise<Response> {
  const target = await surveyTarget(c, row);
  if (!target) {
    await releaseClaim(store, row.id, nonce);
    return page("not_found", lang(c, row.language));
  }
  const cookies = [
    await claimCookieHeader(c.get("config").cookieSecret, row.id, target.expiresAt, tapCtx.at),
  ];
  if (retried) cookies.push(clearRetryCookieHeader(row.id));
  return redirect(target.url, cookies);
}
