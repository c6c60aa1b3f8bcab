/**
 * Whether a response carries the values invite-edge issued. The ledger is the authority: the
 * values are rebuilt from it, never taken from the response.
 *
 * Query mode (values and `sig` travel on the survey URL): tampered when a value differs from the
 * issued one (a missing value differs too), or when the response has a `sig` that does not verify.
 * A response without `sig` whose values all match is not tampered: its survey most likely does
 * not declare `sig` in its flow, which the run reports as a notice instead of crying wolf.
 * Web-service mode (values come from our data endpoint, not the URL): any value present must match.
 */
import type { Config, Survey } from "../config";
import { verifyLinkValues } from "../tokens/link-signature";

export interface ResponseCheck {
  tampered: boolean;
  /** The response carries no `sig` although its survey's links had one. */
  sigMissing: boolean;
}

/**
 * @example await checkResponse(config, survey, issued, { ...issued, venue: "Edited", sig }) // { tampered: true, sigMissing: false }
 * @example await checkResponse(config, survey, issued, { ...issued }) // { tampered: false, sigMissing: true }
 */
export async function checkResponse(
  config: Config,
  survey: Survey,
  issued: Record<string, string>,
  response: Record<string, string>,
): Promise<ResponseCheck> {
  const issuedEntries = Object.entries(issued);
  if (survey.mode === "webservice") {
    const differs = issuedEntries.some(
      ([name, value]) => name in response && response[name] !== value,
    );
    return { tampered: differs, sigMissing: false };
  }
  const differs = issuedEntries.some(([name, value]) => response[name] !== value);
  // Qualtrics exports a declared field that got no value as "": no sig either.
  const sig = response.sig || undefined;
  if (sig === undefined) return { tampered: differs, sigMissing: true };
  return { tampered: differs || !(await verifyLinkValues(config, issued, sig)), sigMissing: false };
}
