-- What operators did with dead letters: a redrive put a ticket back on a queue under its own id
-- (`redriven_to` names the queue), a discard removed it for good (`redriven_to` is NULL). Each
-- keeps who did it, when and why, beside why the ticket had been dead-lettered.
CREATE TABLE dead_letter_actions (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL,
    inquiry_id  text NOT NULL,
    queue       text NOT NULL,
    redriven_to text,
    actor       text NOT NULL,
    reason      text NOT NULL,
    dead_reason text NOT NULL,
    acted_ms    bigint NOT NULL
);
