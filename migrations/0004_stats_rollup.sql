-- Stats rollups (GET /v1/stats, src/ledger/stats.ts): counts kept up to date by triggers on
-- `invites`, so a stats answer reads a few thousand rollup rows instead of every invite of its
-- range. Triggers run inside the statement that changes the invite: no extra D1 round trip on the
-- issue or tap path, and a rollup can never disagree with the ledger. Day numbers are UTC days
-- since 1970-01-01 (`ms / 86400000`); an invite without a channel is counted under channel ''.
--
-- invite_counts: one row per (issue day, survey, trigger, channel, expiry day). The expiry day is
-- in the key so that `expired` (never opened, not revoked, expires_at <= now) needs no scan of
-- old invites: in a row whose expiry day is before today every invite still unclaimed
-- (issued - opened - revoked) has expired; rows expiring after today have none expired; only
-- the invites expiring today are counted one by one, through invites_unclaimed_expiry.
CREATE TABLE invite_counts (
  day INTEGER NOT NULL,
  survey TEXT NOT NULL,
  trigger TEXT NOT NULL,
  channel TEXT NOT NULL,
  expiry_day INTEGER NOT NULL,
  issued INTEGER NOT NULL DEFAULT 0,
  opened INTEGER NOT NULL DEFAULT 0,     -- consumed_at set
  reopened INTEGER NOT NULL DEFAULT 0,   -- sum of reopen_count
  previews INTEGER NOT NULL DEFAULT 0,   -- sum of preview_count
  blocked INTEGER NOT NULL DEFAULT 0,    -- sum of blocked_count
  revoked INTEGER NOT NULL DEFAULT 0,    -- revoked_at set and never opened
  completed INTEGER NOT NULL DEFAULT 0,  -- completed_at set
  PRIMARY KEY (day, survey, trigger, channel, expiry_day)
) WITHOUT ROWID;

-- invite_open_times: a histogram of the times to open (consumed_at - issued_at, ms; negative
-- times count as 0) of the opened invites, one row per (issue day, survey, trigger, channel,
-- digits) where `digits` is the number of digits of the time (at least 2), and n10 … n99 count
-- the times whose first two digits are 10 … 99 (times under 10 ms count in n10 of digits 2).
-- Bucket (digits, first two digits) spans under 10 % of its values, and buckets only grow with
-- the time: the median's bucket and its rank there come from these counts, and only the
-- invites of that bucket are read to find the exact value (index invites_open_time).
CREATE TABLE invite_open_times (
  day INTEGER NOT NULL,
  survey TEXT NOT NULL,
  trigger TEXT NOT NULL,
  channel TEXT NOT NULL,
  digits INTEGER NOT NULL,
  opened INTEGER NOT NULL DEFAULT 0,
  n10 INTEGER NOT NULL DEFAULT 0, n11 INTEGER NOT NULL DEFAULT 0, n12 INTEGER NOT NULL DEFAULT 0,
    n13 INTEGER NOT NULL DEFAULT 0, n14 INTEGER NOT NULL DEFAULT 0, n15 INTEGER NOT NULL DEFAULT 0,
    n16 INTEGER NOT NULL DEFAULT 0, n17 INTEGER NOT NULL DEFAULT 0, n18 INTEGER NOT NULL DEFAULT 0,
    n19 INTEGER NOT NULL DEFAULT 0, n20 INTEGER NOT NULL DEFAULT 0, n21 INTEGER NOT NULL DEFAULT 0,
    n22 INTEGER NOT NULL DEFAULT 0, n23 INTEGER NOT NULL DEFAULT 0, n24 INTEGER NOT NULL DEFAULT 0,
    n25 INTEGER NOT NULL DEFAULT 0, n26 INTEGER NOT NULL DEFAULT 0, n27 INTEGER NOT NULL DEFAULT 0,
    n28 INTEGER NOT NULL DEFAULT 0, n29 INTEGER NOT NULL DEFAULT 0, n30 INTEGER NOT NULL DEFAULT 0,
    n31 INTEGER NOT NULL DEFAULT 0, n32 INTEGER NOT NULL DEFAULT 0, n33 INTEGER NOT NULL DEFAULT 0,
    n34 INTEGER NOT NULL DEFAULT 0, n35 INTEGER NOT NULL DEFAULT 0, n36 INTEGER NOT NULL DEFAULT 0,
    n37 INTEGER NOT NULL DEFAULT 0, n38 INTEGER NOT NULL DEFAULT 0, n39 INTEGER NOT NULL DEFAULT 0,
    n40 INTEGER NOT NULL DEFAULT 0, n41 INTEGER NOT NULL DEFAULT 0, n42 INTEGER NOT NULL DEFAULT 0,
    n43 INTEGER NOT NULL DEFAULT 0, n44 INTEGER NOT NULL DEFAULT 0, n45 INTEGER NOT NULL DEFAULT 0,
    n46 INTEGER NOT NULL DEFAULT 0, n47 INTEGER NOT NULL DEFAULT 0, n48 INTEGER NOT NULL DEFAULT 0,
    n49 INTEGER NOT NULL DEFAULT 0, n50 INTEGER NOT NULL DEFAULT 0, n51 INTEGER NOT NULL DEFAULT 0,
    n52 INTEGER NOT NULL DEFAULT 0, n53 INTEGER NOT NULL DEFAULT 0, n54 INTEGER NOT NULL DEFAULT 0,
    n55 INTEGER NOT NULL DEFAULT 0, n56 INTEGER NOT NULL DEFAULT 0, n57 INTEGER NOT NULL DEFAULT 0,
    n58 INTEGER NOT NULL DEFAULT 0, n59 INTEGER NOT NULL DEFAULT 0, n60 INTEGER NOT NULL DEFAULT 0,
    n61 INTEGER NOT NULL DEFAULT 0, n62 INTEGER NOT NULL DEFAULT 0, n63 INTEGER NOT NULL DEFAULT 0,
    n64 INTEGER NOT NULL DEFAULT 0, n65 INTEGER NOT NULL DEFAULT 0, n66 INTEGER NOT NULL DEFAULT 0,
    n67 INTEGER NOT NULL DEFAULT 0, n68 INTEGER NOT NULL DEFAULT 0, n69 INTEGER NOT NULL DEFAULT 0,
    n70 INTEGER NOT NULL DEFAULT 0, n71 INTEGER NOT NULL DEFAULT 0, n72 INTEGER NOT NULL DEFAULT 0,
    n73 INTEGER NOT NULL DEFAULT 0, n74 INTEGER NOT NULL DEFAULT 0, n75 INTEGER NOT NULL DEFAULT 0,
    n76 INTEGER NOT NULL DEFAULT 0, n77 INTEGER NOT NULL DEFAULT 0, n78 INTEGER NOT NULL DEFAULT 0,
    n79 INTEGER NOT NULL DEFAULT 0, n80 INTEGER NOT NULL DEFAULT 0, n81 INTEGER NOT NULL DEFAULT 0,
    n82 INTEGER NOT NULL DEFAULT 0, n83 INTEGER NOT NULL DEFAULT 0, n84 INTEGER NOT NULL DEFAULT 0,
    n85 INTEGER NOT NULL DEFAULT 0, n86 INTEGER NOT NULL DEFAULT 0, n87 INTEGER NOT NULL DEFAULT 0,
    n88 INTEGER NOT NULL DEFAULT 0, n89 INTEGER NOT NULL DEFAULT 0, n90 INTEGER NOT NULL DEFAULT 0,
    n91 INTEGER NOT NULL DEFAULT 0, n92 INTEGER NOT NULL DEFAULT 0, n93 INTEGER NOT NULL DEFAULT 0,
    n94 INTEGER NOT NULL DEFAULT 0, n95 INTEGER NOT NULL DEFAULT 0, n96 INTEGER NOT NULL DEFAULT 0,
    n97 INTEGER NOT NULL DEFAULT 0, n98 INTEGER NOT NULL DEFAULT 0, n99 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, survey, trigger, channel, digits)
) WITHOUT ROWID;

-- The exact time to open inside a median's bucket: opened invites by issue day, then time.
CREATE INDEX invites_open_time ON invites (
  issued_at / 86400000, consumed_at - issued_at, survey, trigger, channel
) WHERE consumed_at IS NOT NULL;

-- The invites expiring today that are still unclaimed (see invite_counts).
CREATE INDEX invites_unclaimed_expiry ON invites (expires_at, issued_at, survey, trigger, channel)
  WHERE consumed_at IS NULL AND revoked_at IS NULL;

-- The covering index of 0002 served the old full-range stats scans; every claim and tap counter
-- rewrote its entry. Range scans by issue time (the retention job) keep a plain index.
DROP INDEX invites_stats;
CREATE INDEX invites_issued_at ON invites (issued_at);

-- Backfill from the invites that exist now (before the triggers, in the same migration).
INSERT INTO invite_counts (day, survey, trigger, channel, expiry_day, 
    issued, opened, reopened, previews, blocked, revoked, completed)
SELECT issued_at / 86400000, survey, trigger, ifnull(channel, ''), expires_at / 86400000,
  COUNT(*), COUNT(consumed_at), SUM(reopen_count), SUM(preview_count), SUM(blocked_count),
  SUM(consumed_at IS NULL AND revoked_at IS NOT NULL), COUNT(completed_at)
FROM invites
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO invite_open_times (day, survey, trigger, channel, digits, opened,
  n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28,
    n29, n30, n31, n32, n33, n34, n35, n36, n37, n38, n39, n40, n41, n42, n43, n44, n45, n46, n47,
    n48, n49, n50, n51, n52, n53, n54, n55, n56, n57, n58, n59, n60, n61, n62, n63, n64, n65, n66,
    n67, n68, n69, n70, n71, n72, n73, n74, n75, n76, n77, n78, n79, n80, n81, n82, n83, n84, n85,
    n86, n87, n88, n89, n90, n91, n92, n93, n94, n95, n96, n97, n98, n99)
SELECT day, survey, trigger, channel, digits, COUNT(*),
  SUM(b = 10), SUM(b = 11), SUM(b = 12), SUM(b = 13), SUM(b = 14), SUM(b = 15), SUM(b = 16),
    SUM(b = 17), SUM(b = 18), SUM(b = 19), SUM(b = 20), SUM(b = 21), SUM(b = 22), SUM(b = 23),
    SUM(b = 24), SUM(b = 25), SUM(b = 26), SUM(b = 27), SUM(b = 28), SUM(b = 29), SUM(b = 30),
    SUM(b = 31), SUM(b = 32), SUM(b = 33), SUM(b = 34), SUM(b = 35), SUM(b = 36), SUM(b = 37),
    SUM(b = 38), SUM(b = 39), SUM(b = 40), SUM(b = 41), SUM(b = 42), SUM(b = 43), SUM(b = 44),
    SUM(b = 45), SUM(b = 46), SUM(b = 47), SUM(b = 48), SUM(b = 49), SUM(b = 50), SUM(b = 51),
    SUM(b = 52), SUM(b = 53), SUM(b = 54), SUM(b = 55), SUM(b = 56), SUM(b = 57), SUM(b = 58),
    SUM(b = 59), SUM(b = 60), SUM(b = 61), SUM(b = 62), SUM(b = 63), SUM(b = 64), SUM(b = 65),
    SUM(b = 66), SUM(b = 67), SUM(b = 68), SUM(b = 69), SUM(b = 70), SUM(b = 71), SUM(b = 72),
    SUM(b = 73), SUM(b = 74), SUM(b = 75), SUM(b = 76), SUM(b = 77), SUM(b = 78), SUM(b = 79),
    SUM(b = 80), SUM(b = 81), SUM(b = 82), SUM(b = 83), SUM(b = 84), SUM(b = 85), SUM(b = 86),
    SUM(b = 87), SUM(b = 88), SUM(b = 89), SUM(b = 90), SUM(b = 91), SUM(b = 92), SUM(b = 93),
    SUM(b = 94), SUM(b = 95), SUM(b = 96), SUM(b = 97), SUM(b = 98), SUM(b = 99)
FROM (
  SELECT issued_at / 86400000 AS day, survey, trigger, ifnull(channel, '') AS channel,
    max(length(max(consumed_at - issued_at, 0)), 2) AS digits,
    iif(consumed_at - issued_at < 10, 10,
      CAST(substr(consumed_at - issued_at, 1, 2) AS INTEGER)) AS b
  FROM invites
  WHERE consumed_at IS NOT NULL
)
GROUP BY 1, 2, 3, 4, 5;

-- Triggers. Each fires only on the columns it counts (`AFTER UPDATE OF …` and a WHEN that
-- checks a counted value really changed), so updates of other columns (the retention job
-- clearing personal data, reconciliation's push bookkeeping) never touch a rollup. The hot
-- events each write one rollup row: an issue (insert), a tap counter, a revocation, a
-- completion; a first open writes its counts row and its histogram row. Trigger bodies use iif(),
-- not CASE: wrangler's migration splitter would take CASE's END for the trigger's. (`WHERE true`
-- lets SQLite parse INSERT … SELECT … ON CONFLICT; the sub-select computes the bucket once.)

CREATE TRIGGER invites_count_insert AFTER INSERT ON invites
BEGIN
  INSERT INTO invite_counts (day, survey, trigger, channel, expiry_day, 
    issued, opened, reopened, previews, blocked, revoked, completed)
  VALUES (NEW.issued_at / 86400000, NEW.survey, NEW.trigger, ifnull(NEW.channel, ''),
    NEW.expires_at / 86400000,
    1, NEW.consumed_at IS NOT NULL, NEW.reopen_count, NEW.preview_count,
    NEW.blocked_count, NEW.consumed_at IS NULL AND NEW.revoked_at IS NOT NULL,
    NEW.completed_at IS NOT NULL)
  ON CONFLICT (day, survey, trigger, channel, expiry_day) DO UPDATE SET
    issued = issued + excluded.issued, opened = opened + excluded.opened,
    reopened = reopened + excluded.reopened, previews = previews + excluded.previews,
    blocked = blocked + excluded.blocked, revoked = revoked + excluded.revoked,
    completed = completed + excluded.completed;
END;

CREATE TRIGGER invites_open_time_insert AFTER INSERT ON invites
WHEN NEW.consumed_at IS NOT NULL
BEGIN
  INSERT INTO invite_open_times (day, survey, trigger, channel, digits, opened,
    n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28,
    n29, n30, n31, n32, n33, n34, n35, n36, n37, n38, n39, n40, n41, n42, n43, n44, n45, n46, n47,
    n48, n49, n50, n51, n52, n53, n54, n55, n56, n57, n58, n59, n60, n61, n62, n63, n64, n65, n66,
    n67, n68, n69, n70, n71, n72, n73, n74, n75, n76, n77, n78, n79, n80, n81, n82, n83, n84, n85,
    n86, n87, n88, n89, n90, n91, n92, n93, n94, n95, n96, n97, n98, n99)
  SELECT NEW.issued_at / 86400000, NEW.survey, NEW.trigger, ifnull(NEW.channel, ''),
    max(length(max(NEW.consumed_at - NEW.issued_at, 0)), 2), 1,
    b = 10, b = 11, b = 12, b = 13, b = 14, b = 15, b = 16, b = 17, b = 18, b = 19, b = 20, b = 21,
    b = 22, b = 23, b = 24, b = 25, b = 26, b = 27, b = 28, b = 29, b = 30, b = 31, b = 32, b = 33,
    b = 34, b = 35, b = 36, b = 37, b = 38, b = 39, b = 40, b = 41, b = 42, b = 43, b = 44, b = 45,
    b = 46, b = 47, b = 48, b = 49, b = 50, b = 51, b = 52, b = 53, b = 54, b = 55, b = 56, b = 57,
    b = 58, b = 59, b = 60, b = 61, b = 62, b = 63, b = 64, b = 65, b = 66, b = 67, b = 68, b = 69,
    b = 70, b = 71, b = 72, b = 73, b = 74, b = 75, b = 76, b = 77, b = 78, b = 79, b = 80, b = 81,
    b = 82, b = 83, b = 84, b = 85, b = 86, b = 87, b = 88, b = 89, b = 90, b = 91, b = 92, b = 93,
    b = 94, b = 95, b = 96, b = 97, b = 98, b = 99
  FROM (SELECT iif(NEW.consumed_at - NEW.issued_at < 10, 10,
      CAST(substr(NEW.consumed_at - NEW.issued_at, 1, 2) AS INTEGER)) AS b)
  WHERE true
  ON CONFLICT (day, survey, trigger, channel, digits) DO UPDATE SET opened = opened + 1,
    n10 = n10 + excluded.n10, n11 = n11 + excluded.n11, n12 = n12 + excluded.n12,
    n13 = n13 + excluded.n13, n14 = n14 + excluded.n14, n15 = n15 + excluded.n15,
    n16 = n16 + excluded.n16, n17 = n17 + excluded.n17, n18 = n18 + excluded.n18,
    n19 = n19 + excluded.n19, n20 = n20 + excluded.n20, n21 = n21 + excluded.n21,
    n22 = n22 + excluded.n22, n23 = n23 + excluded.n23, n24 = n24 + excluded.n24,
    n25 = n25 + excluded.n25, n26 = n26 + excluded.n26, n27 = n27 + excluded.n27,
    n28 = n28 + excluded.n28, n29 = n29 + excluded.n29, n30 = n30 + excluded.n30,
    n31 = n31 + excluded.n31, n32 = n32 + excluded.n32, n33 = n33 + excluded.n33,
    n34 = n34 + excluded.n34, n35 = n35 + excluded.n35, n36 = n36 + excluded.n36,
    n37 = n37 + excluded.n37, n38 = n38 + excluded.n38, n39 = n39 + excluded.n39,
    n40 = n40 + excluded.n40, n41 = n41 + excluded.n41, n42 = n42 + excluded.n42,
    n43 = n43 + excluded.n43, n44 = n44 + excluded.n44, n45 = n45 + excluded.n45,
    n46 = n46 + excluded.n46, n47 = n47 + excluded.n47, n48 = n48 + excluded.n48,
    n49 = n49 + excluded.n49, n50 = n50 + excluded.n50, n51 = n51 + excluded.n51,
    n52 = n52 + excluded.n52, n53 = n53 + excluded.n53, n54 = n54 + excluded.n54,
    n55 = n55 + excluded.n55, n56 = n56 + excluded.n56, n57 = n57 + excluded.n57,
    n58 = n58 + excluded.n58, n59 = n59 + excluded.n59, n60 = n60 + excluded.n60,
    n61 = n61 + excluded.n61, n62 = n62 + excluded.n62, n63 = n63 + excluded.n63,
    n64 = n64 + excluded.n64, n65 = n65 + excluded.n65, n66 = n66 + excluded.n66,
    n67 = n67 + excluded.n67, n68 = n68 + excluded.n68, n69 = n69 + excluded.n69,
    n70 = n70 + excluded.n70, n71 = n71 + excluded.n71, n72 = n72 + excluded.n72,
    n73 = n73 + excluded.n73, n74 = n74 + excluded.n74, n75 = n75 + excluded.n75,
    n76 = n76 + excluded.n76, n77 = n77 + excluded.n77, n78 = n78 + excluded.n78,
    n79 = n79 + excluded.n79, n80 = n80 + excluded.n80, n81 = n81 + excluded.n81,
    n82 = n82 + excluded.n82, n83 = n83 + excluded.n83, n84 = n84 + excluded.n84,
    n85 = n85 + excluded.n85, n86 = n86 + excluded.n86, n87 = n87 + excluded.n87,
    n88 = n88 + excluded.n88, n89 = n89 + excluded.n89, n90 = n90 + excluded.n90,
    n91 = n91 + excluded.n91, n92 = n92 + excluded.n92, n93 = n93 + excluded.n93,
    n94 = n94 + excluded.n94, n95 = n95 + excluded.n95, n96 = n96 + excluded.n96,
    n97 = n97 + excluded.n97, n98 = n98 + excluded.n98, n99 = n99 + excluded.n99;
END;

-- Same row of invite_counts: add the differences in one UPDATE (claims, tap counters,
-- revocations, completions, and any mix of them in one statement).
CREATE TRIGGER invites_count_update
AFTER UPDATE OF consumed_at, revoked_at, completed_at, reopen_count, blocked_count, preview_count
ON invites
WHEN OLD.issued_at / 86400000 = NEW.issued_at / 86400000
  AND OLD.expires_at / 86400000 = NEW.expires_at / 86400000
  AND OLD.survey = NEW.survey AND OLD.trigger = NEW.trigger AND OLD.channel IS NEW.channel
  AND ((OLD.consumed_at IS NULL) != (NEW.consumed_at IS NULL)
    OR (OLD.revoked_at IS NULL) != (NEW.revoked_at IS NULL)
    OR (OLD.completed_at IS NULL) != (NEW.completed_at IS NULL)
    OR OLD.reopen_count != NEW.reopen_count OR OLD.blocked_count != NEW.blocked_count
    OR OLD.preview_count != NEW.preview_count)
BEGIN
  UPDATE invite_counts SET
    opened = opened + (NEW.consumed_at IS NOT NULL) - (OLD.consumed_at IS NOT NULL),
    reopened = reopened + NEW.reopen_count - OLD.reopen_count,
    previews = previews + NEW.preview_count - OLD.preview_count,
    blocked = blocked + NEW.blocked_count - OLD.blocked_count,
    revoked = revoked + (NEW.consumed_at IS NULL AND NEW.revoked_at IS NOT NULL)
      - (OLD.consumed_at IS NULL AND OLD.revoked_at IS NOT NULL),
    completed = completed + (NEW.completed_at IS NOT NULL) - (OLD.completed_at IS NOT NULL)
  WHERE day = NEW.issued_at / 86400000 AND survey = NEW.survey AND trigger = NEW.trigger
    AND channel = ifnull(NEW.channel, '') AND expiry_day = NEW.expires_at / 86400000;
END;

-- Another row of invite_counts (issue or expiry day, survey, trigger or channel changed; the
-- service never does this, but an operator's UPDATE must not skew counts): move the invite.
CREATE TRIGGER invites_count_move
AFTER UPDATE OF issued_at, expires_at, survey, trigger, channel ON invites
WHEN NOT (OLD.issued_at / 86400000 = NEW.issued_at / 86400000
  AND OLD.expires_at / 86400000 = NEW.expires_at / 86400000
  AND OLD.survey = NEW.survey AND OLD.trigger = NEW.trigger AND OLD.channel IS NEW.channel)
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
  INSERT INTO invite_counts (day, survey, trigger, channel, expiry_day, 
    issued, opened, reopened, previews, blocked, revoked, completed)
  VALUES (NEW.issued_at / 86400000, NEW.survey, NEW.trigger, ifnull(NEW.channel, ''),
    NEW.expires_at / 86400000,
    1, NEW.consumed_at IS NOT NULL, NEW.reopen_count, NEW.preview_count,
    NEW.blocked_count, NEW.consumed_at IS NULL AND NEW.revoked_at IS NOT NULL,
    NEW.completed_at IS NOT NULL)
  ON CONFLICT (day, survey, trigger, channel, expiry_day) DO UPDATE SET
    issued = issued + excluded.issued, opened = opened + excluded.opened,
    reopened = reopened + excluded.reopened, previews = previews + excluded.previews,
    blocked = blocked + excluded.blocked, revoked = revoked + excluded.revoked,
    completed = completed + excluded.completed;
END;

-- The histogram: a first open adds the time; a change of the time or of the group moves it.
CREATE TRIGGER invites_open_time_add
AFTER UPDATE OF consumed_at, issued_at, survey, trigger, channel ON invites
WHEN NEW.consumed_at IS NOT NULL AND NOT (
  OLD.issued_at / 86400000 = NEW.issued_at / 86400000 AND OLD.survey = NEW.survey
  AND OLD.trigger = NEW.trigger AND OLD.channel IS NEW.channel
  AND OLD.consumed_at - OLD.issued_at IS NEW.consumed_at - NEW.issued_at)
BEGIN
  INSERT INTO invite_open_times (day, survey, trigger, channel, digits, opened,
    n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24, n25, n26, n27, n28,
    n29, n30, n31, n32, n33, n34, n35, n36, n37, n38, n39, n40, n41, n42, n43, n44, n45, n46, n47,
    n48, n49, n50, n51, n52, n53, n54, n55, n56, n57, n58, n59, n60, n61, n62, n63, n64, n65, n66,
    n67, n68, n69, n70, n71, n72, n73, n74, n75, n76, n77, n78, n79, n80, n81, n82, n83, n84, n85,
    n86, n87, n88, n89, n90, n91, n92, n93, n94, n95, n96, n97, n98, n99)
  SELECT NEW.issued_at / 86400000, NEW.survey, NEW.trigger, ifnull(NEW.channel, ''),
    max(length(max(NEW.consumed_at - NEW.issued_at, 0)), 2), 1,
    b = 10, b = 11, b = 12, b = 13, b = 14, b = 15, b = 16, b = 17, b = 18, b = 19, b = 20, b = 21,
    b = 22, b = 23, b = 24, b = 25, b = 26, b = 27, b = 28, b = 29, b = 30, b = 31, b = 32, b = 33,
    b = 34, b = 35, b = 36, b = 37, b = 38, b = 39, b = 40, b = 41, b = 42, b = 43, b = 44, b = 45,
    b = 46, b = 47, b = 48, b = 49, b = 50, b = 51, b = 52, b = 53, b = 54, b = 55, b = 56, b = 57,
    b = 58, b = 59, b = 60, b = 61, b = 62, b = 63, b = 64, b = 65, b = 66, b = 67, b = 68, b = 69,
    b = 70, b = 71, b = 72, b = 73, b = 74, b = 75, b = 76, b = 77, b = 78, b = 79, b = 80, b = 81,
    b = 82, b = 83, b = 84, b = 85, b = 86, b = 87, b = 88, b = 89, b = 90, b = 91, b = 92, b = 93,
    b = 94, b = 95, b = 96, b = 97, b = 98, b = 99
  FROM (SELECT iif(NEW.consumed_at - NEW.issued_at < 10, 10,
      CAST(substr(NEW.consumed_at - NEW.issued_at, 1, 2) AS INTEGER)) AS b)
  WHERE true
  ON CONFLICT (day, survey, trigger, channel, digits) DO UPDATE SET opened = opened + 1,
    n10 = n10 + excluded.n10, n11 = n11 + excluded.n11, n12 = n12 + excluded.n12,
    n13 = n13 + excluded.n13, n14 = n14 + excluded.n14, n15 = n15 + excluded.n15,
    n16 = n16 + excluded.n16, n17 = n17 + excluded.n17, n18 = n18 + excluded.n18,
    n19 = n19 + excluded.n19, n20 = n20 + excluded.n20, n21 = n21 + excluded.n21,
    n22 = n22 + excluded.n22, n23 = n23 + excluded.n23, n24 = n24 + excluded.n24,
    n25 = n25 + excluded.n25, n26 = n26 + excluded.n26, n27 = n27 + excluded.n27,
    n28 = n28 + excluded.n28, n29 = n29 + excluded.n29, n30 = n30 + excluded.n30,
    n31 = n31 + excluded.n31, n32 = n32 + excluded.n32, n33 = n33 + excluded.n33,
    n34 = n34 + excluded.n34, n35 = n35 + excluded.n35, n36 = n36 + excluded.n36,
    n37 = n37 + excluded.n37, n38 = n38 + excluded.n38, n39 = n39 + excluded.n39,
    n40 = n40 + excluded.n40, n41 = n41 + excluded.n41, n42 = n42 + excluded.n42,
    n43 = n43 + excluded.n43, n44 = n44 + excluded.n44, n45 = n45 + excluded.n45,
    n46 = n46 + excluded.n46, n47 = n47 + excluded.n47, n48 = n48 + excluded.n48,
    n49 = n49 + excluded.n49, n50 = n50 + excluded.n50, n51 = n51 + excluded.n51,
    n52 = n52 + excluded.n52, n53 = n53 + excluded.n53, n54 = n54 + excluded.n54,
    n55 = n55 + excluded.n55, n56 = n56 + excluded.n56, n57 = n57 + excluded.n57,
    n58 = n58 + excluded.n58, n59 = n59 + excluded.n59, n60 = n60 + excluded.n60,
    n61 = n61 + excluded.n61, n62 = n62 + excluded.n62, n63 = n63 + excluded.n63,
    n64 = n64 + excluded.n64, n65 = n65 + excluded.n65, n66 = n66 + excluded.n66,
    n67 = n67 + excluded.n67, n68 = n68 + excluded.n68, n69 = n69 + excluded.n69,
    n70 = n70 + excluded.n70, n71 = n71 + excluded.n71, n72 = n72 + excluded.n72,
    n73 = n73 + excluded.n73, n74 = n74 + excluded.n74, n75 = n75 + excluded.n75,
    n76 = n76 + excluded.n76, n77 = n77 + excluded.n77, n78 = n78 + excluded.n78,
    n79 = n79 + excluded.n79, n80 = n80 + excluded.n80, n81 = n81 + excluded.n81,
    n82 = n82 + excluded.n82, n83 = n83 + excluded.n83, n84 = n84 + excluded.n84,
    n85 = n85 + excluded.n85, n86 = n86 + excluded.n86, n87 = n87 + excluded.n87,
    n88 = n88 + excluded.n88, n89 = n89 + excluded.n89, n90 = n90 + excluded.n90,
    n91 = n91 + excluded.n91, n92 = n92 + excluded.n92, n93 = n93 + excluded.n93,
    n94 = n94 + excluded.n94, n95 = n95 + excluded.n95, n96 = n96 + excluded.n96,
    n97 = n97 + excluded.n97, n98 = n98 + excluded.n98, n99 = n99 + excluded.n99;
END;

CREATE TRIGGER invites_open_time_remove
AFTER UPDATE OF consumed_at, issued_at, survey, trigger, channel ON invites
WHEN OLD.consumed_at IS NOT NULL AND NOT (
  OLD.issued_at / 86400000 = NEW.issued_at / 86400000 AND OLD.survey = NEW.survey
  AND OLD.trigger = NEW.trigger AND OLD.channel IS NEW.channel
  AND OLD.consumed_at - OLD.issued_at IS NEW.consumed_at - NEW.issued_at)
BEGIN
  UPDATE invite_open_times SET opened = opened - 1,
    n10 = n10 - (b = 10), n11 = n11 - (b = 11), n12 = n12 - (b = 12), n13 = n13 - (b = 13),
    n14 = n14 - (b = 14), n15 = n15 - (b = 15), n16 = n16 - (b = 16), n17 = n17 - (b = 17),
    n18 = n18 - (b = 18), n19 = n19 - (b = 19), n20 = n20 - (b = 20), n21 = n21 - (b = 21),
    n22 = n22 - (b = 22), n23 = n23 - (b = 23), n24 = n24 - (b = 24), n25 = n25 - (b = 25),
    n26 = n26 - (b = 26), n27 = n27 - (b = 27), n28 = n28 - (b = 28), n29 = n29 - (b = 29),
    n30 = n30 - (b = 30), n31 = n31 - (b = 31), n32 = n32 - (b = 32), n33 = n33 - (b = 33),
    n34 = n34 - (b = 34), n35 = n35 - (b = 35), n36 = n36 - (b = 36), n37 = n37 - (b = 37),
    n38 = n38 - (b = 38), n39 = n39 - (b = 39), n40 = n40 - (b = 40), n41 = n41 - (b = 41),
    n42 = n42 - (b = 42), n43 = n43 - (b = 43), n44 = n44 - (b = 44), n45 = n45 - (b = 45),
    n46 = n46 - (b = 46), n47 = n47 - (b = 47), n48 = n48 - (b = 48), n49 = n49 - (b = 49),
    n50 = n50 - (b = 50), n51 = n51 - (b = 51), n52 = n52 - (b = 52), n53 = n53 - (b = 53),
    n54 = n54 - (b = 54), n55 = n55 - (b = 55), n56 = n56 - (b = 56), n57 = n57 - (b = 57),
    n58 = n58 - (b = 58), n59 = n59 - (b = 59), n60 = n60 - (b = 60), n61 = n61 - (b = 61),
    n62 = n62 - (b = 62), n63 = n63 - (b = 63), n64 = n64 - (b = 64), n65 = n65 - (b = 65),
    n66 = n66 - (b = 66), n67 = n67 - (b = 67), n68 = n68 - (b = 68), n69 = n69 - (b = 69),
    n70 = n70 - (b = 70), n71 = n71 - (b = 71), n72 = n72 - (b = 72), n73 = n73 - (b = 73),
    n74 = n74 - (b = 74), n75 = n75 - (b = 75), n76 = n76 - (b = 76), n77 = n77 - (b = 77),
    n78 = n78 - (b = 78), n79 = n79 - (b = 79), n80 = n80 - (b = 80), n81 = n81 - (b = 81),
    n82 = n82 - (b = 82), n83 = n83 - (b = 83), n84 = n84 - (b = 84), n85 = n85 - (b = 85),
    n86 = n86 - (b = 86), n87 = n87 - (b = 87), n88 = n88 - (b = 88), n89 = n89 - (b = 89),
    n90 = n90 - (b = 90), n91 = n91 - (b = 91), n92 = n92 - (b = 92), n93 = n93 - (b = 93),
    n94 = n94 - (b = 94), n95 = n95 - (b = 95), n96 = n96 - (b = 96), n97 = n97 - (b = 97),
    n98 = n98 - (b = 98), n99 = n99 - (b = 99)
  FROM (SELECT iif(OLD.consumed_at - OLD.issued_at < 10, 10,
      CAST(substr(OLD.consumed_at - OLD.issued_at, 1, 2) AS INTEGER)) AS b)
  WHERE day = OLD.issued_at / 86400000 AND survey = OLD.survey AND trigger = OLD.trigger
    AND channel = ifnull(OLD.channel, '')
    AND digits = max(length(max(OLD.consumed_at - OLD.issued_at, 0)), 2);
END;

CREATE TRIGGER invites_count_delete AFTER DELETE ON invites
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

CREATE TRIGGER invites_open_time_delete AFTER DELETE ON invites
WHEN OLD.consumed_at IS NOT NULL
BEGIN
  UPDATE invite_open_times SET opened = opened - 1,
    n10 = n10 - (b = 10), n11 = n11 - (b = 11), n12 = n12 - (b = 12), n13 = n13 - (b = 13),
    n14 = n14 - (b = 14), n15 = n15 - (b = 15), n16 = n16 - (b = 16), n17 = n17 - (b = 17),
    n18 = n18 - (b = 18), n19 = n19 - (b = 19), n20 = n20 - (b = 20), n21 = n21 - (b = 21),
    n22 = n22 - (b = 22), n23 = n23 - (b = 23), n24 = n24 - (b = 24), n25 = n25 - (b = 25),
    n26 = n26 - (b = 26), n27 = n27 - (b = 27), n28 = n28 - (b = 28), n29 = n29 - (b = 29),
    n30 = n30 - (b = 30), n31 = n31 - (b = 31), n32 = n32 - (b = 32), n33 = n33 - (b = 33),
    n34 = n34 - (b = 34), n35 = n35 - (b = 35), n36 = n36 - (b = 36), n37 = n37 - (b = 37),
    n38 = n38 - (b = 38), n39 = n39 - (b = 39), n40 = n40 - (b = 40), n41 = n41 - (b = 41),
    n42 = n42 - (b = 42), n43 = n43 - (b = 43), n44 = n44 - (b = 44), n45 = n45 - (b = 45),
    n46 = n46 - (b = 46), n47 = n47 - (b = 47), n48 = n48 - (b = 48), n49 = n49 - (b = 49),
    n50 = n50 - (b = 50), n51 = n51 - (b = 51), n52 = n52 - (b = 52), n53 = n53 - (b = 53),
    n54 = n54 - (b = 54), n55 = n55 - (b = 55), n56 = n56 - (b = 56), n57 = n57 - (b = 57),
    n58 = n58 - (b = 58), n59 = n59 - (b = 59), n60 = n60 - (b = 60), n61 = n61 - (b = 61),
    n62 = n62 - (b = 62), n63 = n63 - (b = 63), n64 = n64 - (b = 64), n65 = n65 - (b = 65),
    n66 = n66 - (b = 66), n67 = n67 - (b = 67), n68 = n68 - (b = 68), n69 = n69 - (b = 69),
    n70 = n70 - (b = 70), n71 = n71 - (b = 71), n72 = n72 - (b = 72), n73 = n73 - (b = 73),
    n74 = n74 - (b = 74), n75 = n75 - (b = 75), n76 = n76 - (b = 76), n77 = n77 - (b = 77),
    n78 = n78 - (b = 78), n79 = n79 - (b = 79), n80 = n80 - (b = 80), n81 = n81 - (b = 81),
    n82 = n82 - (b = 82), n83 = n83 - (b = 83), n84 = n84 - (b = 84), n85 = n85 - (b = 85),
    n86 = n86 - (b = 86), n87 = n87 - (b = 87), n88 = n88 - (b = 88), n89 = n89 - (b = 89),
    n90 = n90 - (b = 90), n91 = n91 - (b = 91), n92 = n92 - (b = 92), n93 = n93 - (b = 93),
    n94 = n94 - (b = 94), n95 = n95 - (b = 95), n96 = n96 - (b = 96), n97 = n97 - (b = 97),
    n98 = n98 - (b = 98), n99 = n99 - (b = 99)
  FROM (SELECT iif(OLD.consumed_at - OLD.issued_at < 10, 10,
      CAST(substr(OLD.consumed_at - OLD.issued_at, 1, 2) AS INTEGER)) AS b)
  WHERE day = OLD.issued_at / 86400000 AND survey = OLD.survey AND trigger = OLD.trigger
    AND channel = ifnull(OLD.channel, '')
    AND digits = max(length(max(OLD.consumed_at - OLD.issued_at, 0)), 2);
END;
