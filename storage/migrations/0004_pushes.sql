-- Tutors' quiz pushes and their per-learner deliveries.
-- A push is sent once its time comes; each learner's delivery is claimed ('sending') in its own
-- transaction before the send, so a crash can leave a delivery unconfirmed but never send twice.

CREATE TABLE pushes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tutor_id    INTEGER NOT NULL,
    cohort_id   INTEGER NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    quiz_id     TEXT    NOT NULL,
    send_at     TEXT    NOT NULL,
    status      TEXT    NOT NULL
                CHECK (status IN ('scheduled', 'sending', 'sent', 'cancelled', 'failed')),
    late        INTEGER NOT NULL DEFAULT 0,
    note        TEXT,
    created_at  TEXT    NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE INDEX pushes_status ON pushes (status, send_at);
CREATE INDEX pushes_cohort ON pushes (cohort_id, id);

-- No foreign key to learners (as memberships): forget_learner deletes these rows itself.
CREATE TABLE deliveries (
    push_id    INTEGER NOT NULL REFERENCES pushes (id) ON DELETE CASCADE,
    learner_id INTEGER NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    message_id INTEGER,
    poll_id    TEXT,
    reason     TEXT,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (push_id, learner_id)
);
CREATE INDEX deliveries_learner ON deliveries (learner_id);

-- Answers to a pushed quiz name their push, for the push report.
ALTER TABLE answers ADD COLUMN push_id INTEGER;
CREATE INDEX answers_push ON answers (push_id) WHERE push_id IS NOT NULL;
