-- PostgreSQL edition of ../0002_polls.sql.
CREATE TABLE polls (
    poll_id     TEXT   PRIMARY KEY,
    learner_id  BIGINT NOT NULL,
    question_id TEXT   NOT NULL,
    sent_at     TEXT   NOT NULL,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX polls_learner ON polls (learner_id);
