-- Same-device re-open (docs/tap.md, src/tap/same-device.ts): for surveys with
-- `sameDeviceMinutes`, a tap from another browser on the device that first opened the invite
-- re-opens the survey within that many minutes of the first open.
--
-- device_hash: a keyed hash (HMAC, key derived from COOKIE_SECRET) of the invite id, the client
-- address (IPv4, or the IPv6 /64) and the platform (OS family and device class) of the first
-- open, written right after its claim; never the address itself. device_until: when the window ends (Unix
-- ms). Both are NULL for surveys that leave the setting off. The scheduled retention job clears
-- both once the window is over (index below), and erasure and retention clear them with the
-- rest of the invite's personal data. Neither is watched by a stats trigger.
ALTER TABLE invites ADD COLUMN device_hash TEXT;
ALTER TABLE invites ADD COLUMN device_until INTEGER;

-- Only invites inside (or just past) a window are in it: it stays as small as the windows.
CREATE INDEX invites_device_window ON invites (device_until) WHERE device_hash IS NOT NULL;

-- Re-opens from another browser on the same device: counted in reopen_count as every re-open,
-- and here too, so that operators can see how often the window lets a customer in.
ALTER TABLE invites ADD COLUMN cross_browser_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invite_counts ADD COLUMN cross_browser INTEGER NOT NULL DEFAULT 0;

-- invite_counts.cross_browser kept exact as 0004's triggers keep the other counters: one trigger
-- per way an invite's count or group can change. They only fire for invites whose count is not
-- 0, so on every other write only the triggers of 0004 run.
CREATE TRIGGER invites_cross_browser_insert AFTER INSERT ON invites
WHEN NEW.cross_browser_count != 0
BEGIN
  INSERT INTO invite_counts (day, survey, trigger, channel, expiry_day, cross_browser)
  VALUES (NEW.issued_at / 86400000, NEW.survey, NEW.trigger, ifnull(NEW.channel, ''),
    NEW.expires_at / 86400000, NEW.cross_browser_count)
  ON CONFLICT (day, survey, trigger, channel, expiry_day) DO UPDATE SET
    cross_browser = cross_browser + excluded.cross_browser;
END;

CREATE TRIGGER invites_cross_browser_update
AFTER UPDATE OF cross_browser_count ON invites
WHEN OLD.cross_browser_count != NEW.cross_browser_count
  AND OLD.issued_at / 86400000 = NEW.issued_at / 86400000
  AND OLD.expires_at / 86400000 = NEW.expires_at / 86400000
  AND OLD.survey = NEW.survey AND OLD.trigger = NEW.trigger AND OLD.channel IS NEW.channel
BEGIN
  UPDATE invite_counts SET
    cross_browser = cross_browser + NEW.cross_browser_count - OLD.cross_browser_count
  WHERE day = NEW.issued_at / 86400000 AND survey = NEW.survey AND trigger = NEW.trigger
    AND channel = ifnull(NEW.channel, '') AND expiry_day = NEW.expires_at / 86400000;
END;

CREATE TRIGGER invites_cross_browser_move
AFTER UPDATE OF issued_at, expires_at, survey, trigger, channel, cross_browser_count ON invites
WHEN (OLD.cross_browser_count != 0 OR NEW.cross_browser_count != 0)
  AND NOT (OLD.issued_at / 86400000 = NEW.issued_at / 86400000
    AND OLD.expires_at / 86400000 = NEW.expires_at / 86400000
    AND OLD.survey = NEW.survey AND OLD.trigger = NEW.trigger AND OLD.channel IS NEW.channel)
BEGIN
  UPDATE invite_counts SET cross_browser = cross_browser - OLD.cross_browser_count
  WHERE day = OLD.issued_at / 86400000 AND survey = OLD.survey AND trigger = OLD.trigger
    AND channel = ifnull(OLD.channel, '') AND expiry_day = OLD.expires_at / 86400000;
  INSERT INTO invite_counts (day, survey, trigger, channel, expiry_day, cross_browser)
  VALUES (NEW.issued_at / 86400000, NEW.survey, NEW.trigger, ifnull(NEW.channel, ''),
    NEW.expires_at / 86400000, NEW.cross_browser_count)
  ON CONFLICT (day, survey, trigger, channel, expiry_day) DO UPDATE SET
    cross_browser = cross_browser + excluded.cross_browser;
END;

CREATE TRIGGER invites_cross_browser_delete AFTER DELETE ON invites
WHEN OLD.cross_browser_count != 0
BEGIN
  UPDATE invite_counts SET cross_browser = cross_browser - OLD.cross_browser_count
  WHERE day = OLD.issued_at / 86400000 AND survey = OLD.survey AND trigger = OLD.trigger
    AND channel = ifnull(OLD.channel, '') AND expiry_day = OLD.expires_at / 86400000;
END;
