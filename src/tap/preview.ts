/**
 * Who is tapping: link-preview bots, unfurlers and mail scanners (isbot's maintained list, plus
 * the fetches Microsoft Office apps make before opening the browser) get a neutral preview and
 * never consume a link, whatever the method. Generic HTTP clients (curl, scripts, load tools) are
 * in isbot's list too, but they are how developers and integrations test links, so they count as
 * taps. Scanners that run a real browser with an ordinary user agent cannot be told apart: a
 * survey can require a confirm page for channels where they run (docs/bots.md).
 */
import { isbot } from "isbot";
import type { UaClass } from "../store/invite-rows";

const GENERIC_HTTP_CLIENT =
  /^(?:curl|wget|httpie|python-requests|python-urllib|aiohttp|go-http-client|okhttp|node-fetch|node|undici|axios|postmanruntime|insomnia|java|apache-httpclient|libwww-perl|ruby|php|dart|powershell|wrk|hey|autocannon|k6)\b/i;

/**
 * Office apps (Outlook, Word) fetch a link themselves before handing it to the browser, and
 * Outlook fetches links for its previews; isbot 5 does not list these agents. The person's own
 * click then arrives from their browser, with the browser's user agent.
 */
const OFFICE_FETCHER = /\bms-office\b|^Microsoft Office\b/i;

export function isPreviewAgent(userAgent: string): boolean {
  const agent = userAgent.trim();
  return (isbot(agent) || OFFICE_FETCHER.test(agent)) && !GENERIC_HTTP_CLIENT.test(agent);
}

/** A coarse class for the click log (never the user agent itself); `previewAgent` as above. */
export function userAgentClass(userAgent: string, previewAgent: boolean): UaClass {
  if (previewAgent) return "bot";
  if (/Mobi|Android|iPhone|iPad/i.test(userAgent)) return "mobile";
  if (/Windows|Macintosh|X11|CrOS/i.test(userAgent)) return "desktop";
  return "other";
}
