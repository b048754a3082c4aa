-- An audit record keeps how its ticket was queued (its priority and when), so that the expected
-- waits a replica tells can be read back from the recent records when it starts; the records
-- resolved since a time are found by `audit_resolved`. Records kept before have neither.
ALTER TABLE audit ADD COLUMN priority smallint, ADD COLUMN created_ms bigint;
CREATE INDEX audit_resolved ON audit (resolved_ms);
