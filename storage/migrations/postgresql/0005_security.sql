-- PostgreSQL edition of ../0005_security.sql. SQLite's NOCASE index is an index on lower().
CREATE INDEX learners_username ON learners (lower(username));

ALTER TABLE denied_attempts ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE denied_attempts ADD COLUMN last_at TEXT;
CREATE INDEX denied_attempts_user ON denied_attempts (user_id, command, at);
