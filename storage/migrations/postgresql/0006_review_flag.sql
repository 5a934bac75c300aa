-- PostgreSQL edition of ../0006_review_flag.sql.
ALTER TABLE answers ADD COLUMN review INTEGER NOT NULL DEFAULT 0;
ALTER TABLE answers ADD COLUMN unrecognised TEXT NOT NULL DEFAULT '[]';
CREATE INDEX answers_review ON answers (review) WHERE review = 1;
