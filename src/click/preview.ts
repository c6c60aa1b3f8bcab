/**
 * Who is tapping: link-preview bots, unfurlers and mail scanners (isbot's maintained list) get a
 * neutral preview and never consume a link. Generic HTTP clients (curl, scripts, load tools) are
 * in isbot's list too, but they are how developers and integrations test links, so they count as
 * taps. A survey can require a confirm page for channels where scanners run real browsers.
 */
import { isbot } from "isbot";
import type { UaClass } from "../ledger/invites";

const GENERIC_HTTP_CLIENT =
  /^(?:curl|wget|httpie|python-requests|python-urllib|aiohttp|go-http-client|okhttp|node-fetch|node|undici|axios|postmanruntime|insomnia|java|apache-httpclient|libwww-perl|ruby|php|dart|powershell|wrk|hey|autocannon|k6)\b/i;

export function isPreviewAgent(userAgent: string): boolean {
  return isbot(userAgent) && !GENERIC_HTTP_CLIENT.test(userAgent.trim());
}

/** A coarse class for the click log (never the user agent itself); `previewAgent` as above. */
export function userAgentClass(userAgent: string, previewAgent: boolean): UaClass {
  if (previewAgent) return "bot";
  if (/Mobi|Android|iPhone|iPad/i.test(userAgent)) return "mobile";
  if (/Windows|Macintosh|X11|CrOS/i.test(userAgent)) return "desktop";
  return "other";
}
