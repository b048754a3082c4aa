-- Lease tokens are 128 random bits written as 32 lowercase hex digits, no longer numbers from a
-- counter. A token handed out before is replaced by an unknowable one: counted tokens could be
-- guessed, so their leases end here, and their tickets come back when the lease runs out, as
-- any abandoned lease's do.

ALTER TABLE leases
    ALTER COLUMN token TYPE text USING replace(gen_random_uuid()::text, '-', '');
