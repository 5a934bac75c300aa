-- Findings of the security review (issue 15).

-- Usernames change hands: look them up through an index, case-insensitively as Telegram does,
-- and clear a name from whoever held it before when someone else now uses it.
CREATE INDEX learners_username ON learners (username COLLATE NOCASE);

-- Repeated refusals are counted on one row per user, command and hour, not stored one by one.
ALTER TABLE denied_attempts ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE denied_attempts ADD COLUMN last_at TEXT;
CREATE INDEX denied_attempts_user ON denied_attempts (user_id, command, at);
