-- Threads: a client's follow-up in a thread whose ticket is still open is attached to that
-- ticket instead of opening a second one.

-- The open tickets of the clients' threads: a row lives while its ticket does (ready or leased)
-- and goes when the ticket is resolved or dead-lettered, so an attach and a resolution of one
-- ticket meet on its row's lock. A reroute moves its queue.
CREATE TABLE thread_tickets (
    ticket_id  bigint PRIMARY KEY,
    client_id  text NOT NULL,
    thread_id  text NOT NULL,
    queue      text NOT NULL,
    priority   integer NOT NULL,
    sla_due_ms bigint NOT NULL
);
CREATE INDEX thread_tickets_thread ON thread_tickets (client_id, thread_id, ticket_id);

-- The follow-ups attached to open tickets, in the order attached; a dead letter takes its
-- ticket's along, a resolved ticket's go once its message is acknowledged.
CREATE TABLE follow_ups (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL,
    inquiry_id  text NOT NULL,
    attached_ms bigint NOT NULL,
    payload     text NOT NULL
);
CREATE INDEX follow_ups_ticket ON follow_ups (ticket_id, id);
