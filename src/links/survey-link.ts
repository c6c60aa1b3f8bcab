/**
 * Where a tap lands: the survey's configured anonymous link plus the invite's values, as the
 * survey's mode carries them (docs/survey-modes.md): each as its own query parameter (`query`),
 * all in Qualtrics' `Q_EED` parameter (`eed`), or only `inv` (`webservice`); and the customer's
 * language as `Q_Language` in every mode. The target comes only from configuration and the signed
 * token, never from the tap request (no open redirect, nothing the customer can inject).
 */
import type { Survey } from "../config/config";
import { base64 } from "../tokens/ids";
import type { EmbeddedValue } from "../tokens/invite-token";

interface LinkValueSource {
  customerId: string;
  transactionId: string;
  trigger: string;
  embeddedData: Record<string, EmbeddedValue>;
}

/** The ledger columns an invite's values are rebuilt from. */
interface InviteValueColumns {
  customer_ref: string | null;
  transaction_id: string;
  trigger: string;
  embedded_data: string | null;
}

/** An invite's values from its ledger row; null once the retention job deleted them. */
export function linkValueSourceFromRow(row: InviteValueColumns): LinkValueSource | null {
  if (row.customer_ref === null || row.embedded_data === null) return null;
  return {
    customerId: row.customer_ref,
    transactionId: row.transaction_id,
    trigger: row.trigger,
    embeddedData: JSON.parse(row.embedded_data) as Record<string, EmbeddedValue>,
  };
}

/** The values a query-mode link carries (and the web-service endpoint returns), all strings. */
export function inviteValues(id: string, source: LinkValueSource): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(source.embeddedData)) values[name] = String(value);
  values.customer_id = source.customerId;
  values.transaction_id = source.transactionId;
  values.trigger = source.trigger;
  values.inv = id;
  return values;
}

/**
 * A query component that every decoder reads back as issued: everything but RFC 3986's unreserved
 * characters is percent-encoded as UTF-8, so a space is `%20` (never `+`, which URLSearchParams
 * writes and only form decoders read as a space) and `!'()*` are encoded too.
 */
function encodeQueryComponent(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The parameter name of one `name=value` pair of a query string. */
function pairName(pair: string): string {
  return new URLSearchParams(pair).keys().next().value ?? "";
}

const encoder = new TextEncoder();

/**
 * Qualtrics' `Q_EED` value: standard base64 of the UTF-8 JSON object of the values. Not secret
 * (anyone can decode it), only unreadable at a glance; `sig` inside keeps it verifiable.
 * @example encodedEmbeddedData({ venue: "Arena" }) // "eyJ2ZW51ZSI6IkFyZW5hIn0="
 */
function encodedEmbeddedData(values: Record<string, string>): string {
  return base64(encoder.encode(JSON.stringify(values)));
}

export function surveyRedirectUrl(
  survey: Survey,
  id: string,
  source: LinkValueSource & { sig: string; language?: string },
): string {
  const url = new URL(survey.url);
  const carried: Record<string, string> =
    survey.mode === "webservice" ? { inv: id } : { ...inviteValues(id, source), sig: source.sig };
  const values: Record<string, string> =
    survey.mode === "eed" ? { Q_EED: encodedEmbeddedData(carried) } : { ...carried };
  // Not signed: Qualtrics reads it to pick the translation; it is not embedded data.
  if (source.language) values.Q_Language = source.language;
  // The anonymous link's own parameters stay as configured, except those the invite sets (in
  // eed mode inside Q_EED too, so a stale plain parameter never competes with it).
  const setByInvite = new Set([...Object.keys(carried), ...Object.keys(values)]);
  const kept = url.search
    .slice(1)
    .split("&")
    .filter((pair) => pair !== "" && !setByInvite.has(pairName(pair)));
  const added = Object.entries(values).map(
    ([name, value]) => `${encodeQueryComponent(name)}=${encodeQueryComponent(value)}`,
  );
  url.search = [...kept, ...added].join("&");
  return url.toString();
}
