-- A finished response to an invite that another response already completed (a customer who
-- answered twice, for example after re-opening the survey on the same phone): it never completes
-- the invite again; reconcile stamps it invite_duplicate = "1" so analysts can filter it out.
-- Rows live in the invite's shard. Times are Unix milliseconds.
CREATE TABLE duplicate_responses (
  response_id   TEXT PRIMARY KEY,
  invite_id     TEXT NOT NULL,
  survey        TEXT NOT NULL,
  -- 1 when the response's values differ from the issued ones or its sig did not verify.
  tampered      INTEGER NOT NULL,
  found_at      INTEGER NOT NULL,
  -- The update-responses job carrying its stamp, when it was stamped, why Qualtrics refused it.
  stamp_ref     TEXT,
  stamped_at    INTEGER,
  stamp_refused TEXT
);

CREATE INDEX duplicate_responses_to_stamp ON duplicate_responses (survey, found_at)
  WHERE stamped_at IS NULL AND stamp_ref IS NULL AND stamp_refused IS NULL;
CREATE INDEX duplicate_responses_by_job ON duplicate_responses (stamp_ref)
  WHERE stamp_ref IS NOT NULL;
CREATE INDEX duplicate_responses_by_invite ON duplicate_responses (invite_id);
