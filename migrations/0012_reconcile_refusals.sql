-- Reconcile against Qualtrics as it really answers (src/reconcile/, docs/reconcile.md).
-- Times are Unix milliseconds.

-- Qualtrics refused this invite's stamp (an update-responses chunk split down to it, or its job
-- reported an error naming its response): the reason. Not stamped again until an operator
-- clears it (POST /v1/reconcile/invites/:id/retry).
ALTER TABLE invites ADD COLUMN stamp_refused TEXT;

-- Invites a run saw refused, in one shape for every phase: a JSON array of
-- {inviteId, phase: "push" | "stamp", reason}, at most 100, and how many there were in all.
ALTER TABLE reconcile_runs ADD COLUMN refused TEXT;
ALTER TABLE reconcile_runs ADD COLUMN refused_count INTEGER NOT NULL DEFAULT 0;

-- Of a sample of an import's customers, how many had been pushed before it was sent. Each of
-- them must come back as an updated contact; fewer updates mean XM Directory does not
-- deduplicate on External Data Reference.
ALTER TABLE reconcile_imports ADD COLUMN known_contacts INTEGER NOT NULL DEFAULT 0;

-- The newest recordedDate a survey's exports have read: where an export starts again, with an
-- overlap, when Qualtrics refuses the stored continuation token.
ALTER TABLE reconcile_exports ADD COLUMN last_recorded_at INTEGER;
