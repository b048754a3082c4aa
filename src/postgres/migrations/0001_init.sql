-- triage's PostgreSQL schema: status data for direct answers, decisions for idempotency across
-- replicas, and the ticket ledger of the JetStream queue (leases, audit, corrections).

CREATE TABLE clients (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    tier        text NOT NULL,
    fields      jsonb NOT NULL DEFAULT '{}',
    as_of       text NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);

-- An address is an exact email or a mail domain; each belongs to one client.
CREATE TABLE client_addresses (
    address   text PRIMARY KEY,
    kind      text NOT NULL CHECK (kind IN ('email', 'domain')),
    position  integer NOT NULL,
    client_id text NOT NULL REFERENCES clients (id) ON DELETE CASCADE
);
CREATE INDEX client_addresses_client ON client_addresses (client_id);

CREATE TABLE entities (
    client_id text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    kind      text NOT NULL,
    id        text NOT NULL,
    name      text NOT NULL,
    aliases   text[] NOT NULL DEFAULT '{}',
    fields    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (client_id, position)
);

-- One decision per inquiry id: the first one stored stands.
CREATE TABLE decisions (
    inquiry_id text PRIMARY KEY,
    ticket_id  bigint,
    decision   text NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);

-- The current lease of each claimed ticket; the JetStream message is acknowledged through
-- `ack_subject` on whichever replica the specialist calls next.
CREATE TABLE leases (
    ticket_id   bigint PRIMARY KEY,
    token       bigint NOT NULL,
    holder      text NOT NULL,
    queue       text NOT NULL,
    stream_seq  bigint NOT NULL,
    ack_subject text NOT NULL,
    expires_ms  bigint NOT NULL,
    deliveries  integer NOT NULL,
    ticket      text NOT NULL
);

CREATE TABLE dead_letters (
    ticket_id bigint PRIMARY KEY,
    queue     text NOT NULL,
    ticket    text NOT NULL,
    reason    text NOT NULL,
    dead_ms   bigint NOT NULL
);
CREATE INDEX dead_letters_queue ON dead_letters (queue, dead_ms);

CREATE TABLE audit (
    ticket_id   bigint PRIMARY KEY,
    inquiry_id  text NOT NULL,
    queue       text NOT NULL,
    holder      text NOT NULL,
    outcome     text NOT NULL,
    resolved_ms bigint NOT NULL,
    deliveries  integer NOT NULL
);

CREATE TABLE corrections (
    id           bigserial PRIMARY KEY,
    ticket_id    bigint NOT NULL,
    inquiry_id   text NOT NULL,
    from_queue   text NOT NULL,
    to_queue     text NOT NULL,
    holder       text NOT NULL,
    reason       text NOT NULL,
    corrected_ms bigint NOT NULL
);
