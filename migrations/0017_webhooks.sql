-- Webhooks (src/webhooks/, docs/webhooks.md). Every shard gets every table; the deliveries and
-- their counters live in the control database (DB) only, the others leave them empty.

-- Where the scheduled sweep of this shard's ledger has got to, one row per kind of event:
--   since                the time this migration ran: invites issued before it get no reminder and
--                        no expiry event (they were issued before anyone could expect them);
--   opened               the last click_events id swept: the claim writes its 'opened' row in its
--                        own batch, and rowids grow in commit order, so nothing is skipped;
--   expired              the (expires_at, id) of the last unopened invite swept past its expiry;
--   reminder:<survey>    the (issued_at, id) of the last invite of the survey considered for a
--                        reminder: each invite is considered once, so it gets at most one.
CREATE TABLE webhook_sweep (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  tie TEXT NOT NULL DEFAULT ''
);
INSERT INTO webhook_sweep (name, position, tie)
VALUES ('since', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), ''),
       ('opened', (SELECT ifnull(max(id), 0) FROM click_events), ''),
       ('expired', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), '');

-- Completions, as reconcile records them: the sweep reads them in order, sends their events and
-- deletes them. A trigger, so that every way of marking a completion is covered; the response's
-- own time (completed_at) can be long before it is recorded, so it cannot serve as a cursor.
CREATE TABLE webhook_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  invite_id TEXT NOT NULL
);
CREATE TRIGGER invites_completed_webhook AFTER UPDATE OF completed_at ON invites
  WHEN OLD.completed_at IS NULL AND NEW.completed_at IS NOT NULL
BEGIN
  INSERT INTO webhook_outbox (invite_id) VALUES (NEW.id);
END;

-- Deliveries that failed, were dead-lettered or replayed (successes are only counted): one row
-- per event and subscription ('' for an event dead-lettered before it reached one). `body` is
-- the event as sent: it holds the transaction id (personal data), so rows fall under retention
-- (by updated_at) and erasure (by invite_id).
CREATE TABLE webhook_deliveries (
  event_id TEXT NOT NULL,
  subscription TEXT NOT NULL,
  type TEXT NOT NULL,
  invite_id TEXT,
  body TEXT NOT NULL,
  status TEXT NOT NULL,              -- failing | dead | replayed | delivered
  attempts INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (event_id, subscription)
);
CREATE INDEX webhook_deliveries_updated ON webhook_deliveries (updated_at);
CREATE INDEX webhook_deliveries_invite ON webhook_deliveries (invite_id)
  WHERE invite_id IS NOT NULL;

-- Per subscription and UTC day: deliveries that succeeded, failed attempts, dead letters. Added
-- once per queue batch, not per event.
CREATE TABLE webhook_counters (
  day INTEGER NOT NULL,
  subscription TEXT NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  dead INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, subscription)
);
