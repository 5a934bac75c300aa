-- PostgreSQL edition of ../0008_inbox_outbox.sql: the durable inbox and outbox.
CREATE TABLE inbox (
    bot_id      BIGINT NOT NULL,
    update_id   BIGINT NOT NULL,
    chat_id     BIGINT,
    user_id     BIGINT,
    raw         TEXT,
    received_at TEXT   NOT NULL,
    handled_at  TEXT,
    PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX inbox_unhandled ON inbox (bot_id, update_id) WHERE handled_at IS NULL;
CREATE INDEX inbox_user ON inbox (user_id);
CREATE INDEX inbox_received ON inbox (received_at);

CREATE TABLE outbox (
    update_key  TEXT    PRIMARY KEY,
    learner_id  BIGINT  NOT NULL,
    replies     TEXT,
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    message_ids TEXT,
    reason      TEXT,
    created_at  TEXT    NOT NULL,
    sent_at     TEXT,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE status = 'pending';
CREATE INDEX outbox_learner ON outbox (learner_id);
CREATE INDEX outbox_created ON outbox (created_at);

CREATE INDEX applied_updates_applied ON applied_updates (applied_at);
