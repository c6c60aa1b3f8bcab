-- Notices of a reconcile run (src/reconcile/run-notices.ts): findings that are not errors but
-- need someone to act, such as a survey whose responses carry no `sig`. A JSON array of
-- {survey, code, responses}; NULL when the run has none.
ALTER TABLE reconcile_runs ADD COLUMN notices TEXT;
