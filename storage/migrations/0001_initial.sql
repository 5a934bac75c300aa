-- Aftercare Coach: the first schema.
-- Every per-learner table cascades from learners, so erasing a learner is one DELETE.
-- Timestamps are ISO 8601 text exactly as the records carried them (round-trips unchanged).

CREATE TABLE learners (
    id           INTEGER PRIMARY KEY,
    display_name TEXT    NOT NULL DEFAULT '',
    username     TEXT,
    first_seen   TEXT    NOT NULL,
    last_active  TEXT    NOT NULL
);

-- One row per learner: the whole SessionSnapshot as JSON, plus the columns reports filter on.
CREATE TABLE sessions (
    learner_id  INTEGER PRIMARY KEY REFERENCES learners (id) ON DELETE CASCADE,
    scenario_id TEXT,
    state       TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    data        TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

CREATE TABLE answers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_id  INTEGER NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    question_id TEXT    NOT NULL,
    answer      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    score       REAL    NOT NULL,
    criteria    TEXT    NOT NULL,
    topic       TEXT    NOT NULL,
    scenario_id TEXT,
    step        TEXT,
    source      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX answers_learner ON answers (learner_id, id);
CREATE INDEX answers_created ON answers (created_at);

CREATE TABLE scenario_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_id  INTEGER NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    scenario_id TEXT    NOT NULL,
    score       REAL    NOT NULL,
    results     TEXT    NOT NULL,
    finished_at TEXT    NOT NULL
);
CREATE INDEX scenario_runs_learner ON scenario_runs (learner_id, id);
CREATE INDEX scenario_runs_finished ON scenario_runs (finished_at);

-- Transport ids of inputs already applied: a redelivered update is acknowledged, not re-applied.
CREATE TABLE applied_updates (
    update_key TEXT    PRIMARY KEY,
    learner_id INTEGER NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    applied_at TEXT    NOT NULL
);
CREATE INDEX applied_updates_learner ON applied_updates (learner_id);
