-- Shards that stop growing (docs/scaling.md, "Rows that leave"). An invite row leaves its shard
-- once it is past RETENTION_DAYS, its link has expired, it is settled with Qualtrics (no import
-- or stamp job in flight holds it) and its completion window is closed (src/retention/). The
-- rollups (invite_counts, time_sketches*) already carry every count and time to open, so the
-- row is no longer needed; its click events leave with it.
--
-- While the retention job deletes rows it holds the one row of invites_leaving, inside the same
-- batch (one transaction): the delete triggers then leave the rollups alone, so counts keep all
-- history. A row deleted any other way (an operator's edit) still subtracts, as before.
CREATE TABLE invites_leaving (
  one INTEGER PRIMARY KEY CHECK (one = 1)
);

DROP TRIGGER invites_count_delete;
CREATE TRIGGER invites_count_delete AFTER DELETE ON invites
WHEN NOT EXISTS (SELECT 1 FROM invites_leaving)
BEGIN
  UPDATE invite_counts SET
    issued = issued - 1,
    opened = opened - (OLD.consumed_at IS NOT NULL),
    reopened = reopened - OLD.reopen_count,
    previews = previews - OLD.preview_count,
    blocked = blocked - OLD.blocked_count,
    revoked = revoked - (OLD.consumed_at IS NULL AND OLD.revoked_at IS NOT NULL),
    completed = completed - (OLD.completed_at IS NOT NULL)
  WHERE day = OLD.issued_at / 86400000 AND survey = OLD.survey AND trigger = OLD.trigger
    AND channel = ifnull(OLD.channel, '') AND expiry_day = OLD.expires_at / 86400000;
END;

DROP TRIGGER invites_cross_browser_delete;
CREATE TRIGGER invites_cross_browser_delete AFTER DELETE ON invites
WHEN OLD.cross_browser_count != 0 AND NOT EXISTS (SELECT 1 FROM invites_leaving)
BEGIN
  UPDATE invite_counts SET cross_browser = cross_browser - OLD.cross_browser_count
  WHERE day = OLD.issued_at / 86400000 AND survey = OLD.survey AND trigger = OLD.trigger
    AND channel = ifnull(OLD.channel, '') AND expiry_day = OLD.expires_at / 86400000;
END;

DROP TRIGGER invites_open_sketch_delete;
CREATE TRIGGER invites_open_sketch_delete AFTER DELETE ON invites
WHEN OLD.consumed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM invites_leaving)
BEGIN
  INSERT INTO time_sketch_changes (metric, day, survey, trigger, channel, ms, delta)
  VALUES ('open', OLD.issued_at / 86400000, OLD.survey, OLD.trigger, ifnull(OLD.channel, ''),
    OLD.consumed_at - OLD.issued_at, -1);
END;

-- A row that leaves takes its click events along (by index click_events_invite).
CREATE TRIGGER invites_leave_click_events AFTER DELETE ON invites
WHEN EXISTS (SELECT 1 FROM invites_leaving)
BEGIN
  DELETE FROM click_events WHERE invite_id = OLD.id;
END;

-- The purge's search for personal data still present: only rows not purged yet are in this
-- index, so the search never reads the rows it purged before.
CREATE INDEX invites_personal_data_due ON invites (issued_at) WHERE purged_at IS NULL;

-- The purge's search for rows that may leave: none held by an import or a stamp job in flight
-- (push_ref and stamp_ref stay set once pushed and stamped).
CREATE INDEX invites_leave_due ON invites (issued_at)
  WHERE (push_ref IS NULL OR pushed_at IS NOT NULL) AND (stamp_ref IS NULL OR stamped_at IS NOT NULL);

-- Where the retention job's rotation over the shards stopped (control database only).
CREATE TABLE retention_progress (
  name TEXT PRIMARY KEY,
  next_shard INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Invites held by a stamp job, found by job (marking them stamped or refused, releasing them):
-- only the rows of jobs in flight are in it.
CREATE INDEX invites_stamp_in_flight ON invites (stamp_ref)
  WHERE stamp_ref IS NOT NULL AND stamped_at IS NULL;

-- A new invite keeps the signature of its link's values (`sig`, about 110 bytes) instead of the
-- whole signed token (about 750 bytes, which repeated the row's values): the tap rebuilds the
-- values from the row and checks them against it (src/tap/survey-target.ts). Links issued before
-- keep their token, which the tap still verifies. Personal data: cleared by retention and erasure.
ALTER TABLE invites ADD COLUMN sig TEXT;
