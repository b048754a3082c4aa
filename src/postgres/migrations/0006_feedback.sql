-- Feedback (src/feedback/): one rating per inquiry, with the context of its inquiry, so that the
-- ratings can be read by intent and by queue. A change of a rating replaces its row.
CREATE TABLE feedback (
    inquiry_id         text PRIMARY KEY,
    client_id          text NOT NULL,
    intent             text NOT NULL,
    queue              text,
    channel            text NOT NULL,
    wait_ms            bigint NOT NULL,
    answered_by_person boolean NOT NULL,
    answered_ms        bigint NOT NULL,
    rated_ms           bigint NOT NULL,
    source             text NOT NULL,
    changes            integer NOT NULL,
    csat               smallint NOT NULL CHECK (csat BETWEEN 1 AND 5),
    ces                smallint CHECK (ces BETWEEN 1 AND 7),
    comment            text
);

-- The key feedback links are signed with, shared by every replica: the first replica to start
-- keeps the key it made.
CREATE TABLE feedback_link_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key      bytea NOT NULL
);
