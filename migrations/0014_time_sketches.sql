-- Time-to-open sketches (src/stats/sketch.ts): the median and the 90th percentile of a stats
-- answer come from mergeable log-bucket sketches kept in each shard's rollups, read in the same
-- single round as the counts and added up over the shards. They replace the exact medians of
-- 0004/0010/0011, which needed one to three more rounds over every shard (narrowing), the
-- histograms and an index of every opened invite; all of that is dropped here.
--
-- sketch_buckets: the bucket of a whole number of milliseconds. Bucket i ≥ 0 holds the times in
-- (γ^(i-1), γ^i] with γ = 101/99 (within 1 % of the value the bucket stands for); this table
-- holds, for each bucket that can hold a whole millisecond, the largest one it holds. The bounds
-- are computed by the same repeated multiplication as the Worker's (a test compares the two), up
-- to 60 days. A time of 0 ms or less (clock skew) is bucket -1; a time beyond the table's last
-- row counts in its last bucket.
CREATE TABLE sketch_buckets (
  max_ms INTEGER PRIMARY KEY,
  bucket INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO sketch_buckets (max_ms, bucket)
WITH RECURSIVE bounds(bucket, upper) AS (
  SELECT 0, 1.0
  UNION ALL
  SELECT bucket + 1, upper * (101.0 / 99.0) FROM bounds WHERE upper < 5184000000
)
SELECT CAST(upper AS INTEGER), MIN(bucket) FROM bounds GROUP BY 1;

-- time_sketches: per metric ('open': issue to first open; other durations, such as time to
-- complete, can be added as metrics without a new table), issue day, survey, trigger and
-- channel ('' for none), the sketch of the times: how many fell in each bucket, as a JSON object
-- (bucket → count). One row per group and day rather than one per bucket: a stats answer reads a
-- few rows per group instead of hundreds, which is most of what it costs a shard.
-- time_sketches_by_survey and time_sketches_by_day: the same added up over trigger and channel,
-- and over survey too, for the answers that need less (the dashboard's). All three are kept
-- exact by the triggers below, inside the statement that changes the invite (no extra round
-- trip), and hold no customer data.
CREATE TABLE time_sketches (
  metric TEXT NOT NULL,
  day INTEGER NOT NULL,
  survey TEXT NOT NULL,
  trigger TEXT NOT NULL,
  channel TEXT NOT NULL,
  buckets TEXT NOT NULL,
  PRIMARY KEY (metric, day, survey, trigger, channel)
) WITHOUT ROWID;

CREATE TABLE time_sketches_by_survey (
  metric TEXT NOT NULL,
  day INTEGER NOT NULL,
  survey TEXT NOT NULL,
  buckets TEXT NOT NULL,
  PRIMARY KEY (metric, day, survey)
) WITHOUT ROWID;

CREATE TABLE time_sketches_by_day (
  metric TEXT NOT NULL,
  day INTEGER NOT NULL,
  buckets TEXT NOT NULL,
  PRIMARY KEY (metric, day)
) WITHOUT ROWID;

-- time_sketch_changes: where a change to a sketch is written (a time of some metric added to
-- or taken from its group); its INSTEAD OF trigger finds the time's bucket and hands the change
-- to time_sketch_bucket_changes, whose trigger adds it to the bucket's count in the three
-- tables. The triggers on invites below, the backfill, and any later metric all write through
-- them.
CREATE VIEW time_sketch_changes AS
SELECT '' AS metric, 0 AS day, '' AS survey, '' AS trigger, '' AS channel, 0 AS ms, 0 AS delta
WHERE false;

CREATE VIEW time_sketch_bucket_changes AS
SELECT '' AS metric, 0 AS day, '' AS survey, '' AS trigger, '' AS channel, '' AS bucket,
  0 AS delta
WHERE false;

CREATE TRIGGER time_sketch_change INSTEAD OF INSERT ON time_sketch_changes
BEGIN
  INSERT INTO time_sketch_bucket_changes (metric, day, survey, trigger, channel, bucket, delta)
  VALUES (NEW.metric, NEW.day, NEW.survey, NEW.trigger, NEW.channel,
    CAST(ifnull(
      (SELECT iif(NEW.ms <= 0, -1, bucket) FROM sketch_buckets
       WHERE max_ms >= NEW.ms ORDER BY max_ms LIMIT 1),
      (SELECT max(bucket) FROM sketch_buckets)) AS TEXT),
    NEW.delta);
END;

CREATE TRIGGER time_sketch_bucket_change INSTEAD OF INSERT ON time_sketch_bucket_changes
BEGIN
  INSERT INTO time_sketches (metric, day, survey, trigger, channel, buckets)
  VALUES (NEW.metric, NEW.day, NEW.survey, NEW.trigger, NEW.channel,
    json_object(NEW.bucket, NEW.delta))
  ON CONFLICT (metric, day, survey, trigger, channel) DO UPDATE SET
    buckets = json_set(buckets, '$."' || NEW.bucket || '"',
      ifnull(json_extract(buckets, '$."' || NEW.bucket || '"'), 0) + NEW.delta);
  INSERT INTO time_sketches_by_survey (metric, day, survey, buckets)
  VALUES (NEW.metric, NEW.day, NEW.survey, json_object(NEW.bucket, NEW.delta))
  ON CONFLICT (metric, day, survey) DO UPDATE SET
    buckets = json_set(buckets, '$."' || NEW.bucket || '"',
      ifnull(json_extract(buckets, '$."' || NEW.bucket || '"'), 0) + NEW.delta);
  INSERT INTO time_sketches_by_day (metric, day, buckets)
  VALUES (NEW.metric, NEW.day, json_object(NEW.bucket, NEW.delta))
  ON CONFLICT (metric, day) DO UPDATE SET
    buckets = json_set(buckets, '$."' || NEW.bucket || '"',
      ifnull(json_extract(buckets, '$."' || NEW.bucket || '"'), 0) + NEW.delta);
END;

-- Backfill from the invites that exist, so past days keep their percentiles.
INSERT INTO time_sketch_changes (metric, day, survey, trigger, channel, ms, delta)
SELECT 'open', issued_at / 86400000, survey, trigger, ifnull(channel, ''),
  consumed_at - issued_at, COUNT(*)
FROM invites
WHERE consumed_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6;

-- The exact-median machinery, no longer read: its triggers, tables, index and virtual columns.
DROP TRIGGER invites_open_time_insert;
DROP TRIGGER invites_open_time_add;
DROP TRIGGER invites_open_time_remove;
DROP TRIGGER invites_open_time_delete;
DROP TABLE invite_open_times_by_survey;
DROP TABLE invite_open_times;
DROP INDEX invites_open_time;
ALTER TABLE invites DROP COLUMN open_ms;
ALTER TABLE invites DROP COLUMN issue_day;

-- Triggers on invites: a first open adds its time; a change of the time or of the group moves
-- it; a deleted invite takes it away. Each fires only when the time or the group really
-- changed, so other updates (tap counters, the retention job, reconciliation's bookkeeping)
-- touch no sketch.

CREATE TRIGGER invites_open_sketch_insert AFTER INSERT ON invites
WHEN NEW.consumed_at IS NOT NULL
BEGIN
  INSERT INTO time_sketch_changes (metric, day, survey, trigger, channel, ms, delta)
  VALUES ('open', NEW.issued_at / 86400000, NEW.survey, NEW.trigger, ifnull(NEW.channel, ''),
    NEW.consumed_at - NEW.issued_at, 1);
END;

CREATE TRIGGER invites_open_sketch_move
AFTER UPDATE OF consumed_at, issued_at, survey, trigger, channel ON invites
WHEN NOT (
  OLD.issued_at / 86400000 = NEW.issued_at / 86400000 AND OLD.survey = NEW.survey
  AND OLD.trigger = NEW.trigger AND OLD.channel IS NEW.channel
  AND OLD.consumed_at - OLD.issued_at IS NEW.consumed_at - NEW.issued_at)
BEGIN
  INSERT INTO time_sketch_changes (metric, day, survey, trigger, channel, ms, delta)
  SELECT 'open', OLD.issued_at / 86400000, OLD.survey, OLD.trigger, ifnull(OLD.channel, ''),
    OLD.consumed_at - OLD.issued_at, -1
  WHERE OLD.consumed_at IS NOT NULL;
  INSERT INTO time_sketch_changes (metric, day, survey, trigger, channel, ms, delta)
  SELECT 'open', NEW.issued_at / 86400000, NEW.survey, NEW.trigger, ifnull(NEW.channel, ''),
    NEW.consumed_at - NEW.issued_at, 1
  WHERE NEW.consumed_at IS NOT NULL;
END;

CREATE TRIGGER invites_open_sketch_delete AFTER DELETE ON invites
WHEN OLD.consumed_at IS NOT NULL
BEGIN
  INSERT INTO time_sketch_changes (metric, day, survey, trigger, channel, ms, delta)
  VALUES ('open', OLD.issued_at / 86400000, OLD.survey, OLD.trigger, ifnull(OLD.channel, ''),
    OLD.consumed_at - OLD.issued_at, -1);
END;
