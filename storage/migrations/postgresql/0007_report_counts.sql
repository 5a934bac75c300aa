-- PostgreSQL edition of ../0007_report_counts.sql: per-learner counts behind /progress and
-- /criteria, kept by triggers as answers are written or erased.

CREATE TABLE answer_counts (
    learner_id BIGINT  PRIMARY KEY,
    answers    INTEGER NOT NULL,
    correct    INTEGER NOT NULL
);

CREATE TABLE criterion_counts (
    learner_id BIGINT  NOT NULL,
    criterion  TEXT    NOT NULL,
    correct    INTEGER NOT NULL,
    PRIMARY KEY (learner_id, criterion)
);

INSERT INTO answer_counts (learner_id, answers, correct)
SELECT learner_id, count(*), sum((outcome = 'correct')::int) FROM answers GROUP BY learner_id;

INSERT INTO criterion_counts (learner_id, criterion, correct)
SELECT a.learner_id, c.value, count(*)
FROM answers a, jsonb_array_elements_text(a.criteria::jsonb) c (value)
WHERE a.outcome = 'correct'
GROUP BY a.learner_id, c.value;

CREATE FUNCTION answers_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO answer_counts AS k (learner_id, answers, correct)
    VALUES (NEW.learner_id, 1, (NEW.outcome = 'correct')::int)
    ON CONFLICT (learner_id) DO UPDATE
    SET answers = k.answers + 1, correct = k.correct + excluded.correct;
    INSERT INTO criterion_counts AS k (learner_id, criterion, correct)
    SELECT NEW.learner_id, c.value, 1 FROM jsonb_array_elements_text(NEW.criteria::jsonb) c (value)
    WHERE NEW.outcome = 'correct'
    ON CONFLICT (learner_id, criterion) DO UPDATE SET correct = k.correct + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER answers_counted AFTER INSERT ON answers
FOR EACH ROW EXECUTE FUNCTION answers_counted();

-- Answers are only ever erased with their learner (/forget, cascading from learners).
CREATE FUNCTION answers_uncounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM answer_counts WHERE learner_id = OLD.learner_id;
    DELETE FROM criterion_counts WHERE learner_id = OLD.learner_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER answers_uncounted AFTER DELETE ON answers
FOR EACH ROW EXECUTE FUNCTION answers_uncounted();
