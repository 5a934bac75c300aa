-- Answers the marker did not fully recognise (an unknown condition, list item or claim) carry a
-- review flag and what it did not recognise; a tutor's review queue reads them.
ALTER TABLE answers ADD COLUMN review INTEGER NOT NULL DEFAULT 0;
ALTER TABLE answers ADD COLUMN unrecognised TEXT NOT NULL DEFAULT '[]';
CREATE INDEX answers_review ON answers (review) WHERE review = 1;
