-- The durable inbox and outbox (issue 15): nothing a learner sends is lost in a crash.

-- Every update is stored here before Telegram is told it was received (polling: before the
-- next getUpdates offset; webhook: before the HTTP 200). Keyed by bot, as Telegram numbers
-- updates per bot and may start again (a new token on an old database). `raw` is cleared once
-- the update is handled; the key stays for the retention period as the repeat check.
CREATE TABLE inbox (
    bot_id      INTEGER NOT NULL,
    update_id   INTEGER NOT NULL,
    chat_id     INTEGER,
    user_id     INTEGER,
    raw         TEXT,
    received_at TEXT    NOT NULL,
    handled_at  TEXT,
    PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX inbox_unhandled ON inbox (bot_id, update_id) WHERE handled_at IS NULL;
CREATE INDEX inbox_user ON inbox (user_id);
CREATE INDEX inbox_received ON inbox (received_at);

-- The replies of one committed input, written in the same transaction as its commit and sent
-- after it. `replies` (JSON) is cleared once Telegram has confirmed them; `message_ids` keeps
-- what Telegram returned. No foreign key to learners: forget_learner deletes these rows itself.
CREATE TABLE outbox (
    update_key  TEXT    PRIMARY KEY,
    learner_id  INTEGER NOT NULL,
    replies     TEXT,
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    message_ids TEXT,
    reason      TEXT,
    created_at  TEXT    NOT NULL,
    sent_at     TEXT
);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE status = 'pending';
CREATE INDEX outbox_learner ON outbox (learner_id);
CREATE INDEX outbox_created ON outbox (created_at);

-- The repeat check expires with the inbox: Telegram may restart update ids.
CREATE INDEX applied_updates_applied ON applied_updates (applied_at);
