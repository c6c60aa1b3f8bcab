-- The tap's one round trip (src/store/links.ts, claimForTap): the signed token now lives on the
-- invite's row, so the claim returns what the redirect needs in the same statement batch, and
-- issuing writes no KV entry. Links issued before keep their token in KV only (token IS NULL
-- here): their tap rebuilds the values from this row, as the KV-lag fallback always did.
-- The retention purge clears it with the other personal data.
ALTER TABLE invites ADD COLUMN token TEXT;

-- A lost reply: the nonce of the claim that consumed the invite. A tap whose claim failed without
-- an answer (the 503 page) carries its nonce in a cookie; if that claim did commit, the retry
-- from the same browser matches it and opens the survey, and any other browser is still refused.
ALTER TABLE invites ADD COLUMN claim_nonce TEXT;
