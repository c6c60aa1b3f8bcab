// @ts-check
/**
 * OAuth scopes, from tables rather than from the fake's own routes: the scope names Qualtrics
 * has (a token request naming any other is refused), and which scopes each endpoint needs.
 * Qualtrics does not publish the second table; this is the reading invite-edge's defaults follow,
 * and a test can change it (`POST /_fake/scopes`) to play a brand where an endpoint wants another.
 */

/** Scope names Qualtrics knows (besides `manage:all`, which grants every one). */
export const KNOWN_SCOPES = Object.freeze([
  "read:contact_transactions",
  "write:contact_transactions",
  "read:mailing_list_contacts",
  "write:mailing_list_contacts",
  "read:survey_responses",
  "write:survey_responses",
  "read:surveys",
  "read:users",
]);

/** Scopes a token must hold, per endpoint (an API token may do everything). */
export const DEFAULT_ENDPOINT_SCOPES = Object.freeze({
  createTransactionBatch: ["write:contact_transactions"],
  importTransactionContacts: ["write:contact_transactions", "write:mailing_list_contacts"],
  getTransactionImport: ["write:contact_transactions"],
  getTransactionImportSummary: ["write:contact_transactions"],
  listBatchTransactions: ["write:contact_transactions"],
  startResponseExport: ["read:survey_responses"],
  getResponseExport: ["read:survey_responses"],
  getResponseExportFile: ["read:survey_responses"],
  startUpdateResponses: ["write:survey_responses"],
  getUpdateResponses: ["write:survey_responses"],
  updateResponse: ["write:survey_responses"],
});

/** @returns {Record<string, string[]>} a fresh, editable copy of the defaults */
export function endpointScopes() {
  return Object.fromEntries(
    Object.entries(DEFAULT_ENDPOINT_SCOPES).map(([endpoint, scopes]) => [endpoint, [...scopes]]),
  );
}
