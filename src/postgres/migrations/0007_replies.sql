-- The reply a specialist sends when resolving a ticket, kept with its audit record for the
-- channels that deliver it, and the holder's internal note.
ALTER TABLE audit ADD COLUMN note text;

CREATE TABLE replies (
    seq        bigserial PRIMARY KEY,
    ticket_id  bigint NOT NULL,
    inquiry_id text NOT NULL,
    client_id  text NOT NULL,
    holder     text NOT NULL,
    sent_ms    bigint NOT NULL,
    payload    text NOT NULL
);
CREATE INDEX replies_ticket ON replies (ticket_id, seq);
CREATE INDEX replies_sent ON replies (sent_ms, seq);

-- A resolved ticket queued with a thread keeps its row, with the ticket, so that a follow-up
-- can reopen it; its follow-ups are kept with it. The audit record names the message it
-- resolved: a repeated resolve of that message keeps the first record, the resolution of a
-- reopened ticket (a new message) replaces it.
ALTER TABLE thread_tickets ADD COLUMN resolved_ms bigint, ADD COLUMN ticket text;
ALTER TABLE audit ADD COLUMN stream_seq bigint;
