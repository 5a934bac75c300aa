-- Spaced revision (issue 12): each learner's FSRS cards, their review log, and the learner's
-- own settings. All cascade from learners, so /forget erases them in the same DELETE.
-- Times are UTC ISO 8601 with microseconds, so they compare correctly as text.

CREATE TABLE revision_cards (
    learner_id     INTEGER NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    card_id        TEXT    NOT NULL,
    topic          TEXT    NOT NULL,
    state          INTEGER NOT NULL CHECK (state BETWEEN 1 AND 3),
    stability      REAL,
    difficulty     REAL,
    due_at         TEXT    NOT NULL,
    last_review_at TEXT,
    reviews        INTEGER NOT NULL DEFAULT 0,
    lapses         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (learner_id, card_id)
);
-- "What is due for this learner before the end of their day" is one index range.
CREATE INDEX revision_cards_due ON revision_cards (learner_id, due_at);

CREATE TABLE revision_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_id  INTEGER NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    card_id     TEXT    NOT NULL,
    grade       TEXT    NOT NULL CHECK (grade IN ('again', 'hard', 'good')),
    source      TEXT    NOT NULL,
    reviewed_at TEXT    NOT NULL,
    due_after   TEXT    NOT NULL
);
CREATE INDEX revision_log_card ON revision_log (learner_id, card_id, id);

-- Reminders are opt-in: remind_at (local "HH:MM") is NULL until the learner picks a time.
-- next_reminder_at is the UTC instant the next one is due, so choosing whom to remind now is
-- one index range whatever the learners' time zones; blocked_at stops them for good.
CREATE TABLE learner_settings (
    learner_id       INTEGER PRIMARY KEY REFERENCES learners (id) ON DELETE CASCADE,
    timezone         TEXT,
    remind_at        TEXT,
    quiet_days       TEXT    NOT NULL DEFAULT '',
    next_reminder_at TEXT,
    blocked_at       TEXT
);
CREATE INDEX learner_settings_next_reminder ON learner_settings (next_reminder_at)
    WHERE next_reminder_at IS NOT NULL;
