/**
 * Whether a response carries the values invite-edge issued. The ledger is the authority: the
 * values are rebuilt from it, never taken from the response, and stamping writes them onto the
 * response whatever it carried.
 *
 * Tampered: a value the response carries differs from the issued one, or the response has a
 * `sig` that does not verify (query and eed modes, where values and `sig` travel on the link).
 * Not tampered, but reported to the survey owner as a notice instead of crying wolf:
 * - a value the response lacks (absent, or recorded empty): its survey flow most likely does not
 *   declare that field, or the respondent stripped it from the link; nothing false was recorded;
 * - no `sig` at all: its survey flow most likely does not declare `sig`.
 * Web-service mode has no `sig` (the values come from our data endpoint, not the URL). A value
 * over Qualtrics' 1,000 characters (links issued before the limit) matches its first 1,000.
 */
import type { Config, Survey } from "../config/config";
import { withinValueLimit } from "../qualtrics/chunking";
import { verifyLinkValues } from "../tokens/link-signature";

interface ResponseCheck {
  tampered: boolean;
  /** The response carries no `sig` although its survey's links had one. */
  sigMissing: boolean;
  /** Issued values the response does not carry (in issued order). */
  missingFields: string[];
}

/**
 * @example await checkResponse(config, survey, issued, { ...issued, venue: "Edited", sig }) // { tampered: true, sigMissing: false, missingFields: [] }
 * @example await checkResponse(config, survey, issued, { ...issued }) // { tampered: false, sigMissing: true, missingFields: [] }
 * @example await checkResponse(config, survey, issued, { inv, sig }) // { tampered: false, sigMissing: false, missingFields: ["venue", …] }
 */
export async function checkResponse(
  config: Config,
  survey: Survey,
  issued: Record<string, string>,
  response: Record<string, string>,
): Promise<ResponseCheck> {
  let differs = false;
  const missingFields: string[] = [];
  for (const [name, value] of Object.entries(issued)) {
    const carried = response[name];
    // A value issued before the 1,000-character limit is recorded cut to it: that is no edit.
    if (carried === value || carried === withinValueLimit(value).value) continue;
    // Qualtrics exports a declared field that got no value as "": nothing was recorded.
    if (carried === undefined || carried === "") missingFields.push(name);
    else differs = true;
  }
  if (survey.mode === "webservice") return { tampered: differs, sigMissing: false, missingFields };
  const sig = response.sig || undefined;
  if (sig === undefined) return { tampered: differs, sigMissing: true, missingFields };
  const forged = !(await verifyLinkValues(config, issued, sig));
  return { tampered: differs || forged, sigMissing: false, missingFields };
}
