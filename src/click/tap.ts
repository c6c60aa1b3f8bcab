/**
 * The tap: `GET|HEAD|POST /s/:id`. Hot path: one KV read, a JWT verification and, for a first
 * tap, one D1 batch (the conditional claim plus its click event); the KV consumed mark runs in
 * `waitUntil`, and the counters of re-opens, refusals and previews are batched across taps
 * (`tap-recorder.ts`). Every tap is recorded in the ledger, so normal taps are not logged; logs
 * are for what needs an operator (rejected tokens, store failures).
 * The ledger is the truth: when KV has no token (expired, revoked, or not yet replicated to this
 * location) the ledger decides, and a live invite still opens from its ledger row.
 */
import type { Context } from "hono";
import type { Survey } from "../config";
import { clientAddress } from "../http/client-address";
import type { AppEnv } from "../http/context";
import { isTransientStoreFailure, STORE_RETRY_AFTER_SECONDS } from "../http/failures";
import { describeError, log } from "../http/log";
import {
  claimInvite,
  getInvite,
  type InviteRow,
  type TapContext,
  type TapOutcome,
} from "../ledger/invites";
import { inviteValues, linkValueSourceFromRow, surveyRedirectUrl } from "../links/survey-link";
import { isInviteId } from "../tokens/ids";
import { type VerifiedInvite, verifyInviteToken } from "../tokens/invite-token";
import { signLinkValues } from "../tokens/link-signature";
import { claimCookieHeader, hasClaimCookie } from "./claim-cookie";
import { confirmPageCsp, PAGE_CSP, type PageKind, renderPage } from "./pages";
import { isPreviewAgent, userAgentClass } from "./preview";
import { countUnknownId, limitTap } from "./tap-limits";
import { recordTapLater } from "./tap-recorder";

/** KV metadata on a link's token once it was claimed (a fast path; D1 is the truth). */
interface LinkMark {
  consumedAt?: number;
}

type TapCtx = Context<AppEnv>;

const TAP_HEADERS = {
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "X-Robots-Tag": "noindex, nofollow",
  "X-Content-Type-Options": "nosniff",
};

export function page(
  kind: PageKind,
  extraHeaders: Record<string, string> = {},
  confirmAction?: string,
) {
  const { status, html } = renderPage(kind, confirmAction);
  return new Response(html, {
    status,
    headers: {
      ...TAP_HEADERS,
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": PAGE_CSP,
      ...extraHeaders,
    },
  });
}

function redirect(location: string, extraHeaders: Record<string, string> = {}): Response {
  return new Response(null, {
    status: 302,
    headers: { ...TAP_HEADERS, Location: location, ...extraHeaders },
  });
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
  recordTapLater(c.env.DB, { ...tap, inviteId: id, outcome }, (p) => c.executionCtx.waitUntil(p));
}

/** An invite rebuilt from its ledger row, for when KV does not (or no longer) hold the token. */
async function inviteFromRow(c: TapCtx, row: InviteRow): Promise<VerifiedInvite | null> {
  const source = linkValueSourceFromRow(row);
  if (!source) return null; // purged
  return {
    ...source,
    id: row.id,
    survey: row.survey,
    expiresAt: row.expires_at,
    ...(row.channel ? { channel: row.channel } : {}),
    sig: await signLinkValues(c.get("config"), inviteValues(row.id, source)),
  };
}

/** What the ledger says of an invite that cannot be claimed (or whose token KV lacks). */
function refusal(row: InviteRow | null, now: number): PageKind | "claimable" | "consumed" {
  if (!row) return "not_found";
  if (row.revoked_at !== null) return "revoked";
  if (row.consumed_at !== null) return row.expires_at > now ? "consumed" : "expired";
  if (row.expires_at <= now) return "expired";
  return "claimable";
}

/** Answers a tap the ledger refuses, counting refusals, expired and revoked taps. */
function refuse(c: TapCtx, id: string, kind: PageKind, tap: TapContext): Response {
  if (kind === "used") record(c, id, "blocked", tap);
  if (kind === "expired" || kind === "revoked") record(c, id, kind, tap);
  return page(kind);
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
    return failurePage(error);
  }
}

/** A transient store failure asks for a retry (503); anything else is a bug (500). */
function failurePage(error: unknown): Response {
  if (!isTransientStoreFailure(error)) return page("error");
  return page("unavailable", { "Retry-After": String(STORE_RETRY_AFTER_SECONDS) });
}

const rateLimited = (wait: number) => page("rate_limited", { "Retry-After": String(wait) });

/** A tap on an id nobody issued: the 404 page, or 429 once its address walks too many. */
async function unknownId(c: TapCtx, address: string): Promise<Response> {
  const wait = await countUnknownId(c.env, c.get("config"), address);
  return wait === null ? page("not_found") : rateLimited(wait);
}

async function tap(c: TapCtx): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const address = clientAddress(c.req.raw);
  if (!isInviteId(id)) return unknownId(c, address);
  const config = c.get("config");
  const wait = await limitTap(c.env, config, address, id);
  if (wait !== null) return rateLimited(wait);

  const method = c.req.method;
  const userAgent = c.req.header("User-Agent") ?? "";
  const bot = isPreviewAgent(userAgent);
  // A preview agent never claims, whatever the method (scanners submit the confirm page's form).
  const preview = method === "HEAD" || bot;
  const now = Date.now();
  const tapCtx: TapContext = {
    at: now,
    uaClass: userAgentClass(userAgent, bot),
    country: typeof c.req.raw.cf?.country === "string" ? c.req.raw.cf.country : null,
  };

  const entry = await c.env.LINKS.getWithMetadata<LinkMark>(id);
  let invite: VerifiedInvite | null = null;
  let consumed = entry.metadata?.consumedAt !== undefined;
  const claimedHere = await hasClaimCookie(config.cookieSecret, id, c.req.header("Cookie"));
  // A repeat tap from another browser is refused on the KV mark alone: its token is not needed.
  if (entry.value !== null && consumed && !preview && !claimedHere) {
    return refuse(c, id, "used", tapCtx);
  }
  if (entry.value !== null) {
    const verified = await verifyInviteToken(config, id, entry.value);
    if (!verified.ok && verified.reason === "expired") return refuse(c, id, "expired", tapCtx);
    if (!verified.ok) {
      log("token_rejected", { requestId: c.get("requestId"), inviteId: id });
      return page("not_found");
    }
    invite = verified.invite;
  } else {
    const row = await getInvite(c.env.DB, id);
    if (!row) return unknownId(c, address);
    const state = refusal(row, now);
    if (state !== "claimable" && state !== "consumed") return refuse(c, id, state, tapCtx);
    consumed = state === "consumed";
    invite = row ? await inviteFromRow(c, row) : null;
    if (!invite) return page("not_found");
  }

  const survey = config.surveys.get(invite.survey);
  if (!survey) {
    log("survey_not_configured", { requestId: c.get("requestId"), inviteId: id });
    return page("not_found");
  }
  if (preview) {
    record(c, id, "preview", tapCtx);
    return page("preview");
  }
  if (claimedHere) {
    record(c, id, "reopened", tapCtx);
    return redirect(surveyRedirectUrl(survey, id, invite));
  }
  if (consumed) return refuse(c, id, "used", tapCtx);
  if (survey.confirm && method !== "POST") {
    const csp = confirmPageCsp(new URL(survey.url).origin);
    return page("confirm", { "Content-Security-Policy": csp }, `/s/${id}`);
  }
  return claimAndRedirect(c, survey, invite, tapCtx, entry.value);
}

async function claimAndRedirect(
  c: TapCtx,
  survey: Survey,
  invite: VerifiedInvite,
  tapCtx: TapContext,
  token: string | null,
): Promise<Response> {
  const id = invite.id;
  let won: boolean;
  try {
    won = await claimInvite(c.env.DB, id, tapCtx);
  } catch (error) {
    // Nothing was consumed: the claim is one statement and it did not commit.
    log("claim_failed", {
      requestId: c.get("requestId"),
      inviteId: id,
      error: describeError(error),
    });
    return failurePage(error);
  }
  if (!won) {
    const state = refusal(await getInvite(c.env.DB, id), tapCtx.at);
    // Claimable here means another tap is mid-claim: it is refused like a used link.
    return refuse(c, id, state === "consumed" || state === "claimable" ? "used" : state, tapCtx);
  }
  // KV allows ~1 write per second per key and may fail: the mark is only a fast path.
  if (token !== null && invite.expiresAt - tapCtx.at > 61_000) {
    const mark: LinkMark = { consumedAt: tapCtx.at };
    inBackground(
      c,
      c.env.LINKS.put(id, token, {
        expiration: Math.floor(invite.expiresAt / 1000),
        metadata: mark,
      }),
      "consumed_mark",
      id,
    );
  }
  const cookie = await claimCookieHeader(
    c.get("config").cookieSecret,
    id,
    invite.expiresAt,
    tapCtx.at,
  );
  return redirect(surveyRedirectUrl(survey, id, invite), { "Set-Cookie": cookie });
}
