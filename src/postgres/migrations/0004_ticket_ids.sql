-- Ticket ids come from PostgreSQL, no longer from the JetStream stream's sequence, which restarts
-- at 1 when the stream is recreated (and then named two tickets alike). A replica takes a block of
-- ids at a time: `nextval` gives a block's first id and the sequence's increment its size. The
-- first block starts above every id already used.
CREATE SEQUENCE ticket_ids INCREMENT BY 1000 MINVALUE 1;
SELECT setval('ticket_ids', greatest(1, (
    SELECT coalesce(max(id), 0) + 1 FROM (
        SELECT max(ticket_id) AS id FROM decisions
        UNION ALL SELECT max(ticket_id) FROM leases
        UNION ALL SELECT max(ticket_id) FROM audit
        UNION ALL SELECT max(ticket_id) FROM dead_letters
        UNION ALL SELECT max(ticket_id) FROM thread_tickets
        UNION ALL SELECT max(ticket_id) FROM corrections
    ) AS used)), false);

-- Where a ticket's message is: the stream sequence of its latest publish (a reroute publishes it
-- again), so a ready ticket can be read by its id.
ALTER TABLE decisions ADD COLUMN stream_seq bigint;
CREATE INDEX decisions_ticket ON decisions (ticket_id) WHERE stream_seq IS NOT NULL;

-- Ids are no longer in arrival order across replicas: a thread's latest open ticket is the one
-- opened last.
ALTER TABLE thread_tickets ADD COLUMN opened bigserial;
DROP INDEX thread_tickets_thread;
CREATE INDEX thread_tickets_thread ON thread_tickets (client_id, thread_id, opened);

-- The settings every replica of one deployment must share, as the first replica wrote them; a
-- replica that disagrees refuses to start unless told to migrate.
CREATE TABLE deployment (
    setting text PRIMARY KEY,
    value   text NOT NULL
);
