-- Who gets invited (src/rules/, docs/contact-rules.md). Every shard gets every table.
--
-- contact_history: one row per decision made for a customer, in the shard the customer's
-- placement names (never the shard of the invite). `customer_hash` is a versioned keyed hash of
-- the customer id (`v1:…`), never the id. `outcome` 'issued' rows are what rules count (issued,
-- then opened and completed as the tap and reconcile report them); 'suppressed' rows only make a
-- retried suppressed call find its decision. An issued row is written before its invite
-- (`confirmed` 0, a reservation) and confirmed once the invite exists; a reservation whose
-- invite never appeared is released by the next decision that meets it or the scheduled job.
CREATE TABLE contact_history (
  customer_hash TEXT NOT NULL,
  survey TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  trigger TEXT NOT NULL,
  outcome TEXT NOT NULL,            -- 'issued' | 'suppressed'
  invite_id TEXT,                   -- with 'issued'
  decided_at INTEGER NOT NULL,      -- Unix ms
  confirmed INTEGER NOT NULL DEFAULT 0,
  opened_at INTEGER,
  completed_at INTEGER,
  PRIMARY KEY (customer_hash, survey, transaction_id)
) WITHOUT ROWID;

-- A customer's recent decisions (every rule window reads them) and the retention purge.
CREATE INDEX contact_history_customer ON contact_history (customer_hash, decided_at);
CREATE INDEX contact_history_decided ON contact_history (decided_at);
-- The tap and reconcile mark opens and completions by invite id.
CREATE INDEX contact_history_invite ON contact_history (invite_id) WHERE invite_id IS NOT NULL;

-- opt_outs: "do not survey", by the versioned keyed hash of the customer id alone (it survives
-- a privacy erasure). `surveys` is a JSON array of survey keys, or NULL for every survey.
CREATE TABLE opt_outs (
  customer_hash TEXT PRIMARY KEY,
  surveys TEXT,
  since INTEGER NOT NULL
) WITHOUT ROWID;

-- issue_caps: invites of a survey issued per UTC day (days since 1970-01-01) in this shard:
-- each shard holds its share of a survey's dailyCap.
CREATE TABLE issue_caps (
  survey TEXT NOT NULL,
  day INTEGER NOT NULL,
  issued INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (survey, day)
) WITHOUT ROWID;

-- suppressions: the decision not to invite, where survey + transactionId place it (the shard
-- an invite for the pair would have gone to), so a retry replays it. `customer_ref` (the
-- customer id, for the privacy lookup) is cleared after RETENTION_DAYS like the invites'.
CREATE TABLE suppressions (
  survey TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  customer_ref TEXT,
  trigger TEXT NOT NULL,
  channel TEXT,
  request_hash TEXT NOT NULL,
  reason TEXT NOT NULL,             -- 'opted_out' | 'sampled_out' | 'frequency' | 'cap'
  rule TEXT,
  eligible_at INTEGER,
  decided_at INTEGER NOT NULL,
  PRIMARY KEY (survey, transaction_id)
) WITHOUT ROWID;
CREATE INDEX suppressions_customer ON suppressions (customer_ref) WHERE customer_ref IS NOT NULL;
CREATE INDEX suppressions_decided ON suppressions (decided_at);

-- One decision per survey + transactionId: an invite and a suppression for the same pair
-- exclude each other (the second insert is skipped, and the caller finds the first).
CREATE TRIGGER invites_not_suppressed BEFORE INSERT ON invites
WHEN EXISTS (SELECT 1 FROM suppressions
             WHERE survey = NEW.survey AND transaction_id = NEW.transaction_id)
BEGIN SELECT RAISE(IGNORE); END;

CREATE TRIGGER suppressions_not_issued BEFORE INSERT ON suppressions
WHEN EXISTS (SELECT 1 FROM invites WHERE survey = NEW.survey AND transaction_id = NEW.transaction_id)
BEGIN SELECT RAISE(IGNORE); END;

-- Stats: suppressions per (request day, survey, trigger, channel, reason), kept by a trigger
-- like invite_counts, so a stats answer never reads suppression rows.
CREATE TABLE suppression_counts (
  day INTEGER NOT NULL,
  survey TEXT NOT NULL,
  trigger TEXT NOT NULL,
  channel TEXT NOT NULL,
  reason TEXT NOT NULL,
  suppressed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, survey, trigger, channel, reason)
) WITHOUT ROWID;

CREATE TRIGGER suppressions_counted AFTER INSERT ON suppressions
BEGIN
  INSERT INTO suppression_counts (day, survey, trigger, channel, reason, suppressed)
  VALUES (NEW.decided_at / 86400000, NEW.survey, NEW.trigger, ifnull(NEW.channel, ''), NEW.reason, 1)
  ON CONFLICT (day, survey, trigger, channel, reason) DO UPDATE SET suppressed = suppressed + 1;
END;
