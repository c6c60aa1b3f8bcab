/**
 * The tap: `GET|HEAD|POST /s/:id`. A fresh tap waits for one storage round trip before its 302:
 * the claim in the invite's shard returns, in the same batch, the row with its signed token (or
 * why it was refused), while the KV consumed mark is read side by side; when KV already marks
 * the link consumed the tap is refused at once, without waiting for the ledger. The mark is
 * written lazily, by the first tap the ledger refuses, in `waitUntil`. Previews and re-opens read
 * the row (one round trip) and never claim. Counters of re-opens, refusals and previews are
 * batched across taps (`tap-recorder.ts`). Every tap is recorded in the ledger, so normal
 * taps are not logged; logs are for what needs an operator (rejected tokens, store failures).
 *
 * For surveys with a same-device window (same-device.ts), the first open's device is kept after
 * the redirect, in the background, and a tap the ledger refuses re-opens the survey when it comes
 * from that device within the window; the KV mark is not written while the window is open, so the
 * fast refusal never decides for a device. Taps of surveys without a window do no extra work. A link pasted with trailing punctuation (`.`, `)`, `,`, `/`) is
 * first redirected to its own address, so that the claim cookie's path matches.
 */
import type { Context } from "hono";
import type { Config } from "../config/config";
import type { PageLanguage } from "../config/page-languages";
import { describeError, log } from "../core/log";
import { clientAddress } from "../http/client-address";
import type { AppEnv } from "../http/context";
import { recordContactActivity } from "../rules";
import { isTransientStoreFailure, STORE_RETRY_AFTER_SECONDS } from "../store/failures";
import type { InviteRow, TapContext, TapOutcome } from "../store/invite-rows";
import {
  claimInvite,
  consumedMark,
  findInvite,
  forgetLinks,
  keepDevice,
  markConsumed,
  releaseClaim,
} from "../store/links";
import { cachedShardCounts, everServedShardCounts } from "../store/shard-counts";
import type { Store } from "../store/store";
import { isInviteId } from "../tokens/ids";
import {
  claimCookieHeader,
  clearRetryCookieHeader,
  cookiesSecure,
  hasClaimCookie,
  newClaimNonce,
  retryCookieHeader,
  retryNonce,
} from "./claim-cookie";
import { choosePageLanguage } from "./page-language";
import type { PageKind, PageOptions } from "./pages";
import { isPreviewAgent, userAgentClass } from "./preview";
import { page, redirect } from "./responses";
import { firstOpenDevice, inDeviceWindow, isSameDevice } from "./same-device";
import { surveyTargetOf } from "./survey-target";
import { countUnknownId, limitTap } from "./tap-limits";
import { recordTapLater } from "./tap-recorder";

type TapCtx = Context<AppEnv>;

/** The language of a tap's page: the invite's when its row (or KV mark) says, else the browser's. */
const lang = (c: TapCtx, inviteLanguage?: string | null) =>
  choosePageLanguage(inviteLanguage, c.req.header("Accept-Language"));

/** A page of this tap, in the brand of the configuration. */
const show = (
  c: TapCtx,
  kind: PageKind,
  language: PageLanguage,
  headers: Record<string, string> = {},
  options: Omit<PageOptions, "brand"> = {},
) => page(kind, language, { ...options, brand: c.get("config").brand.brand }, headers);

/** Whether this tap's cookies are `Secure` (not in development over non-loopback http). */
const secureCookies = (c: TapCtx) => cookiesSecure(c.get("config").environment, c.req.url);

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

/** Where the survey of a claimed invite lands, or null when it cannot be trusted or configured. */
const surveyTarget = (c: TapCtx, row: InviteRow) =>
  surveyTargetOf(c.get("config"), row, c.get("requestId"));

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
  return show(c, kind, lang(c, language));
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
  if (!isTransientStoreFailure(error)) return show(c, "error", lang(c), extraHeaders);
  return show(c, "unavailable", lang(c), {
    "Retry-After": String(STORE_RETRY_AFTER_SECONDS),
    ...extraHeaders,
  });
}

const rateLimited = (c: TapCtx, wait: number) =>
  show(c, "rate_limited", lang(c), { "Retry-After": String(wait) });

/** A tap on an id nobody issued: the 404 page, or 429 once its address walks too many. */
async function unknownId(c: TapCtx): Promise<Response> {
  const wait = await countUnknownId(c.env, c.get("config"), clientAddress(c.req.raw));
  return wait === null ? show(c, "not_found", lang(c)) : rateLimited(c, wait);
}

/** What a pasted link may drag along after the id: the end of a sentence, a bracket, a slash. */
const PASTED_TAIL = /[.,)/]+$/;

async function tap(c: TapCtx): Promise<Response> {
  const id = c.req.param("id") ?? "";
  if (!isInviteId(id)) {
    // Redirected to the link's own address first, where the claim cookie's path matches.
    const pasted = id.replace(PASTED_TAIL, "");
    return pasted !== id && isInviteId(pasted) ? redirect(308, `/s/${pasted}`) : unknownId(c);
  }
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
    return show(c, "not_found", lang(c, row?.language));
  }
  record(c, id, "preview", tapCtx);
  return show(c, "preview", lang(c, row.language));
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
  if (!target) return show(c, "not_found", lang(c, row?.language));
  record(c, id, "reopened", tapCtx);
  return redirect(302, target.url);
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
    return failurePage(c, error, { "Set-Cookie": retryCookieHeader(id, nonce, secureCookies(c)) });
  }
  const { won, row } = result;
  if (won && row) return openSurvey(c, store, row, tapCtx, nonce, earlierNonce !== null);
  const state = refusal(row, tapCtx.at);
  if (state === "consumed") {
    const window = row !== null && inDeviceWindow(config, row, tapCtx.at);
    if (window && (await isSameDevice(config, row, c.req.raw, tapCtx.at))) {
      return reopenOnSameDevice(c, row, tapCtx);
    }
    // The first refusal marks the link in KV: later repeat taps are refused from there. Not
    // while a same-device window is open: KV cannot tell the device, only the ledger can.
    if (row && !window) {
      const marking = markConsumed(store, id, row.expires_at, tapCtx.at, row.language);
      inBackground(c, marking, "consumed_mark", id);
    }
    return refuse(c, id, "used", tapCtx, row?.language);
  }
  if (state !== "claimable") return refuse(c, id, state, tapCtx, row?.language);
  if (!row) return show(c, "not_found", lang(c));
  // Live but not claimable by this tap: its survey shows a confirm page first, or is not
  // configured (any more), or its data was purged.
  const survey = config.surveys.get(row.survey);
  if (survey?.confirm && method !== "POST" && row.customer_ref !== null) {
    const confirm = { action: `/s/${id}`, surveyOrigin: new URL(survey.url).origin };
    return show(c, "confirm", lang(c, row.language), {}, { confirm });
  }
  if (!survey) log("survey_not_configured", { requestId: c.get("requestId"), inviteId: id });
  return show(c, "not_found", lang(c, row.language));
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
    return show(c, "not_found", lang(c, row.language));
  }
  const config = c.get("config");
  const secure = secureCookies(c);
  const cookies = [
    await claimCookieHeader(config.cookieSecret, row.id, target.expiresAt, tapCtx.at, secure),
  ];
  if (retried) cookies.push(clearRetryCookieHeader(row.id, secure));
  // The first open's device, for its survey's same-device window: after the answer, which
  // never waits for it. Surveys without a window skip it.
  if (inDeviceWindow(config, row, tapCtx.at)) {
    const keeping = firstOpenDevice(config, row, c.req.raw).then(
      (device) => device && keepDevice(store, row.id, nonce, device),
    );
    inBackground(c, keeping, "same_device", row.id);
  }
  // The first open, for the contact rules that count opens: after the answer, counted within
  // seconds; nothing when no rule is configured.
  if (config.contact.rules.length > 0 && row.customer_ref !== null) {
    const earlier = everServedShardCounts(
      cachedShardCounts(store)?.counts ?? NO_SHARD_COUNTS,
      config.ledgerShards,
      config.previousLedgerShards,
    );
    const open = { customerId: row.customer_ref, inviteId: row.id, at: tapCtx.at };
    inBackground(
      c,
      recordContactActivity(store, config, earlier, "opened", [open]),
      "contact_open",
      row.id,
    );
  }
  return redirect(302, target.url, cookies);
}

/** Before this isolate read the history of shard counts: only the override is known. */
const NO_SHARD_COUNTS = { records: [], highestServed: 0 };

/**
 * Another browser on the device that opened the invite, inside its window: the survey again,
 * counted as a re-open (`cross_browser`), with a claim cookie of its own, so that this browser
 * re-opens until the link expires like the first.
 */
async function reopenOnSameDevice(c: TapCtx, row: InviteRow, tapCtx: TapContext) {
  const target = await surveyTarget(c, row);
  if (!target) return show(c, "not_found", lang(c, row.language));
  record(c, row.id, "cross_browser", tapCtx);
  const secret = c.get("config").cookieSecret;
  return redirect(302, target.url, [
    await claimCookieHeader(secret, row.id, target.expiresAt, tapCtx.at, secureCookies(c)),
  ]);
}
