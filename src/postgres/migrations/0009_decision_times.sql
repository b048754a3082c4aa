-- The decisions stored since a time (the lead's activity report) are found by
-- `decisions_stored`, latest first.
CREATE INDEX decisions_stored ON decisions (stored_at);
