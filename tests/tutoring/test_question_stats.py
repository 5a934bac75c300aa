"""Question statistics: facility on the first try, wrong answers grouped, overrides, flags."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from knowledge.loader import KnowledgeBase
from tutoring.ports import AnswerStat, ReviewItem
from tutoring.question_stats import detail_text, listing_text, question_stats
from tutoring.render import history_line, history_notes
from tutoring.reports import questions_csv

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def stat(
    n: int, learner: int, question: str, answer: str, outcome: str, **extra: object
) -> AnswerStat:
    return AnswerStat.model_validate(
        {
            "learner_id": learner,
            "question_id": question,
            "topic": "goods",
            "answer": answer,
            "outcome": outcome,
            "machine_outcome": extra.pop("machine", outcome),
            "created_at": T0 + timedelta(minutes=n),
            **extra,
        }
    )


ROWS = [
    stat(1, 1, "easy", "refund", "correct"),
    stat(2, 2, "easy", "Refund!", "correct"),
    stat(3, 1, "hard", "A repair.", "incorrect"),
    stat(4, 1, "hard", "30 days", "correct"),  # right on the second try: not facility
    stat(5, 2, "hard", "a  REPAIR", "incorrect", flagged=True),
    stat(6, 3, "hard", "30 days", "correct", machine="incorrect", decision="correct"),
    stat(7, 4, "hard", "=cmd()", "incorrect", machine="partial", decision="incorrect"),
]


def test_worst_first_with_wrong_answers_grouped(kb: KnowledgeBase) -> None:
    hard, easy = question_stats(ROWS, kb.questions)
    assert (easy.question_id, easy.facility) == ("easy", 1.0)
    assert hard.question_id == "hard"
    assert (hard.answers, hard.learners, hard.first_correct) == (5, 4, 1)
    assert hard.facility == 0.25
    assert hard.wrong == (("A repair.", 2), ("=cmd()", 1))
    assert (hard.raised, hard.lowered, hard.flagged) == (1, 1, 1)
    assert question_stats(ROWS, kb.questions, topic="privacy") == []

    listing = listing_text([hard, easy], "Tuesday")
    assert listing.index("• hard") < listing.index("• easy")
    assert "facility 25% of 4 learner(s), 5 answer(s); overridden 1↑ 1↓; flagged 20%" in listing
    assert "most common wrong: “A repair.” ×2" in listing
    detail = detail_text(hard, "Tuesday")
    assert "• “A repair.” ×2" in detail
    assert "Tutors overrode the marker: 1 up, 1 down" in detail


def test_questions_csv_neutralises_formulas(kb: KnowledgeBase) -> None:
    rows = list(
        csv.reader(io.StringIO(questions_csv(question_stats(ROWS, kb.questions)).decode()))
    )
    assert rows[0][:5] == ["question_id", "topic", "answers", "learners", "facility_percent"]
    assert rows[1][0] == "hard"
    assert rows[1][4] == "25.0"
    assert rows[1][-1] == "A repair. ×2 | =cmd() ×1"  # a formula only at the start is run
    assert rows[2][-1] == ""


def test_choice_answers_show_their_option(kb: KnowledgeBase) -> None:
    choice = next(q for q in kb.questions.values() if q.type == "single")
    [found] = question_stats([stat(1, 1, choice.id, "3", "incorrect")], kb.questions)
    assert found.wrong == ((choice.options[3].text, 1),)
    assert found.prompt == choice.prompt


def test_history_lines() -> None:
    base = {
        "learner_id": 1,
        "learner_name": "Ann",
        "ask_seq": 3,
        "question_id": "q",
        "answer": "a",
        "topic": "goods",
        "source": "quiz",
        "created_at": T0,
        "machine_outcome": "incorrect",
        "machine_score": 0.0,
        "flagged": False,
    }
    assert history_line(ReviewItem.model_validate(base)) is None
    appealed = ReviewItem.model_validate({**base, "appealed_at": T0})
    assert history_line(appealed) == (
        "marked incorrect automatically; the learner appealed on 1 Dec 2026"
    )
    decided = {**base, "decision": "correct", "decided_by": 2, "decided_at": T0}
    assert history_line(ReviewItem.model_validate({**decided, "comment": "fine"})) == (
        "marked incorrect automatically, corrected to correct by tutor 2 on 1 Dec 2026: fine"
    )
    same = ReviewItem.model_validate({**decided, "decision": "incorrect"})
    assert history_line(same) == (
        "marked incorrect automatically, confirmed as incorrect by tutor 2 on 1 Dec 2026"
    )
    assert history_notes([same, ReviewItem.model_validate(base)]) == {
        ("q", T0): history_line(same)
    }
