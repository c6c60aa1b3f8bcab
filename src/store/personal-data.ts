/**
 * The ledger columns that hold personal data, and how they are cleared — the one list the
 * retention purge and a privacy erasure share, so that both leave the same thing behind: the
 * row with its survey, trigger, channel, times and counters (every count survives), and nothing
 * that names or could be matched back to the customer. Gone: the customer id, the embedded data,
 * the signed token that carries both and the signature of the link's values (a guess of them
 * could be checked against it), the request hash (a guessed request could be matched
 * against it), the Qualtrics response id (it leads to the answers), Qualtrics' reason for refusing
 * its stamp (its words may quote a value), the same-device hash of the phone that opened it with
 * its window, and the transaction id, which becomes a placeholder derived from the invite id alone
 * (UNIQUE (survey, transaction_id) needs a value). None of these columns is watched by the stats
 * triggers. A new personal column is cleared by adding it here.
 */
export const CLEAR_PERSONAL_DATA = `customer_ref = NULL, embedded_data = NULL, token = NULL, sig = NULL,
  request_hash = '', transaction_id = 'erased:' || id, response_id = NULL, stamp_refused = NULL,
  device_hash = NULL, device_until = NULL`;
