-- Tutors in the loop (issue 11): learners' appeals and tutors' decisions on marked answers.

-- Which question of the session an answer answered (the session's ask_seq): a learner's
-- "I think this is right" button names it, so the button needs no database id.
ALTER TABLE answers ADD COLUMN ask_seq INTEGER;
CREATE INDEX answers_ask ON answers (learner_id, ask_seq) WHERE ask_seq IS NOT NULL;

-- One row per answer a learner appealed or a tutor decided (a flagged answer is in the queue
-- without a row until it is decided). The machine's verdict is kept here; answers.outcome
-- carries the verdict that counts (the tutor's, once there is one), so progress, criteria and
-- evidence follow it. A decision is written once: the first tutor's stands.
-- Cascades with the answer (and so with the learner: /forget erases appeals and decisions).
CREATE TABLE review_items (
    answer_id       INTEGER PRIMARY KEY REFERENCES answers (id) ON DELETE CASCADE,
    learner_id      INTEGER NOT NULL,
    ask_seq         INTEGER NOT NULL,
    machine_outcome TEXT    NOT NULL,
    machine_score   REAL    NOT NULL,
    appealed_at     TEXT,
    reason          TEXT    NOT NULL DEFAULT '',
    decision        TEXT    CHECK (decision IN ('correct', 'partial', 'incorrect')),
    decided_by      INTEGER,
    decided_at      TEXT,
    comment         TEXT,
    notified_at     TEXT,
    UNIQUE (learner_id, ask_seq)
);
CREATE INDEX review_items_decided ON review_items (decided_at) WHERE decided_at IS NOT NULL;

-- A tutor's decision changes an answer's outcome: keep the per-learner counts of 0007 true.
CREATE TRIGGER answers_recounted AFTER UPDATE OF outcome ON answers
WHEN OLD.outcome IS NOT NEW.outcome
BEGIN
    UPDATE answer_counts
    SET correct = correct - (OLD.outcome = 'correct') + (NEW.outcome = 'correct')
    WHERE learner_id = NEW.learner_id;
    UPDATE criterion_counts SET correct = correct - 1
    WHERE OLD.outcome = 'correct' AND learner_id = OLD.learner_id
      AND criterion IN (SELECT value FROM json_each(OLD.criteria));
    INSERT INTO criterion_counts (learner_id, criterion, correct)
    SELECT NEW.learner_id, c.value, 1 FROM json_each(NEW.criteria) c
    WHERE NEW.outcome = 'correct'
    ON CONFLICT (learner_id, criterion) DO UPDATE SET correct = correct + 1;
END;
