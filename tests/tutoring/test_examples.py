"""A tutor's override becomes a rubric example: `coach content examples --from-reviews` prints
it, and `coach content check` fails on it until the rubric agrees (the round trip)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from flows.ports import AnswerRecord, Commit, LearnerProfile
from knowledge.checks import check_content
from knowledge.loader import KnowledgeBase
from knowledge.models import Example
from storage.reviews import SqliteReviewStore
from storage.sqlite import SqliteProgressStore

QUESTION = "cra-sale-sign-rights"
PARTIAL = "They can get a full refund"  # marked partial, as the question's own example says
AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def record(n: int, answer: str, outcome: str) -> AnswerRecord:
    return AnswerRecord.model_validate(
        {
            "learner_id": 4,
            "question_id": QUESTION,
            "answer": answer,
            "outcome": outcome,
            "score": 0.5,
            "criteria": ("POST:P1",),
            "topic": "goods",
            "source": "quiz",
            "created_at": AT,
            "ask_seq": n,
        }
    )


async def seed(db: Path) -> None:
    async with SqliteProgressStore.open(db) as store:
        answers = (record(1, PARTIAL, "partial"), record(2, "Only a repair", "incorrect"))
        await store.apply(Commit(learner=LearnerProfile(learner_id=4), answers=answers))
        reviews = SqliteReviewStore(store.database)
        assert await reviews.decide(4, 1, "correct", 2, AT) is True
        assert await reviews.decide(4, 2, "incorrect", 2, AT) is True  # agrees: no example


def test_overrides_round_trip_into_content_check(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kb: KnowledgeBase,
) -> None:
    asyncio.run(seed(tmp_path / "coach.db"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'coach.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["content", "examples", "--from-reviews"]) == 0
    printed = capsys.readouterr().out
    assert f"# bank question {QUESTION}" in printed
    [block] = yaml.safe_load(printed)
    assert block == {"id": QUESTION, "examples": [{"answer": PARTIAL, "verdict": "correct"}]}

    # Pasted into the question, the example makes the content check fail…
    question = kb.questions[QUESTION]
    pasted = question.model_copy(
        update={"examples": (*question.examples, *(Example(**e) for e in block["examples"]))}
    )
    changed = dataclasses.replace(kb, questions={**kb.questions, QUESTION: pasted})
    problems = check_content(changed).problems
    assert any(PARTIAL in p and "expected correct" in p for p in problems)
    # …and the shipped content, without it, passes those checks.
    assert not any(PARTIAL in p for p in check_content(kb).problems)

    assert main(["content", "examples", "--from-reviews", "--since", "2026-12-02"]) == 0
    assert "No tutor has overridden" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--since wants a date"):
        main(["content", "examples", "--from-reviews", "--since", "last week"])
