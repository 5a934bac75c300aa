-- PostgreSQL edition of ../0010_review_queue.sql: appeals and tutors' decisions.
ALTER TABLE answers ADD COLUMN ask_seq INTEGER;
CREATE INDEX answers_ask ON answers (learner_id, ask_seq) WHERE ask_seq IS NOT NULL;

CREATE TABLE review_items (
    answer_id       BIGINT           PRIMARY KEY REFERENCES answers (id) ON DELETE CASCADE,
    learner_id      BIGINT           NOT NULL,
    ask_seq         INTEGER          NOT NULL,
    machine_outcome TEXT             NOT NULL,
    machine_score   DOUBLE PRECISION NOT NULL,
    appealed_at     TEXT,
    reason          TEXT             NOT NULL DEFAULT '',
    decision        TEXT             CHECK (decision IN ('correct', 'partial', 'incorrect')),
    decided_by      BIGINT,
    decided_at      TEXT,
    comment         TEXT,
    notified_at     TEXT,
    UNIQUE (learner_id, ask_seq)
);
CREATE INDEX review_items_decided ON review_items (decided_at) WHERE decided_at IS NOT NULL;

-- A tutor's decision changes an answer's outcome: keep the per-learner counts of 0007 true.
CREATE FUNCTION answers_recounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE answer_counts
    SET correct = correct - (OLD.outcome = 'correct')::int + (NEW.outcome = 'correct')::int
    WHERE learner_id = NEW.learner_id;
    UPDATE criterion_counts SET correct = correct - 1
    WHERE OLD.outcome = 'correct' AND learner_id = OLD.learner_id
      AND criterion IN (SELECT jsonb_array_elements_text(OLD.criteria::jsonb));
    INSERT INTO criterion_counts AS k (learner_id, criterion, correct)
    SELECT NEW.learner_id, c.value, 1 FROM jsonb_array_elements_text(NEW.criteria::jsonb) c (value)
    WHERE NEW.outcome = 'correct'
    ON CONFLICT (learner_id, criterion) DO UPDATE SET correct = k.correct + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER answers_recounted AFTER UPDATE OF outcome ON answers
FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome)
EXECUTE FUNCTION answers_recounted();
