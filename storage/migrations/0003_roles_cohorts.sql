-- Roles and cohorts for tutors and admins.
-- Admins listed in ADMIN_IDS need no row here; roles granted in the bot are stored.
CREATE TABLE roles (
    user_id    INTEGER PRIMARY KEY,
    role       TEXT    NOT NULL CHECK (role IN ('tutor', 'admin')),
    granted_by INTEGER NOT NULL,
    granted_at TEXT    NOT NULL
);

CREATE TABLE cohorts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    owner_id   INTEGER NOT NULL,
    join_code  TEXT    NOT NULL UNIQUE,
    created_at TEXT    NOT NULL,
    UNIQUE (owner_id, name)
);

-- No foreign key to learners: a learner may join (by link) before their first answer lands;
-- forget_learner deletes their memberships itself.
CREATE TABLE memberships (
    cohort_id  INTEGER NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    learner_id INTEGER NOT NULL,
    joined_at  TEXT    NOT NULL,
    PRIMARY KEY (cohort_id, learner_id)
);
CREATE INDEX memberships_learner ON memberships (learner_id);

-- Refused attempts at privileged commands, for the admins to review.
CREATE TABLE denied_attempts (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    command TEXT    NOT NULL,
    at      TEXT    NOT NULL
);
