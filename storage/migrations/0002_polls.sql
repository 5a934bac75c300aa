-- Which learner got which quiz poll: a poll answer carries no chat (PTB issue #2338), so the bot
-- routes it by poll id. No foreign key: a poll may be remembered before the learner's first
-- commit lands, so forget_learner deletes these rows itself.
CREATE TABLE polls (
    poll_id     TEXT    PRIMARY KEY,
    learner_id  INTEGER NOT NULL,
    question_id TEXT    NOT NULL,
    sent_at     TEXT    NOT NULL
);
CREATE INDEX polls_learner ON polls (learner_id);
