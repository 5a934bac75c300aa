"""Question statistics for tutors: `/questions [COHORT|all] [TOPIC]` and `/questions ID`.

Per question: how many answered, facility (the share of learners right on their first try,
by the verdict that counts), the most common wrong answers (grouped by their words), how often
tutors overrode the marker and which way, and the share the marker flagged. Worst first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flows.io import Reply
from knowledge.models import MESSAGE_MAX, TOPIC_TITLES, AnyQuestion, ChoiceQuestion
from tutoring.ports import AnswerStat
from tutoring.review import ReviewDesk, Scope

RANKS = {"incorrect": 0, "revealed": 0, "skipped": 0, "partial": 1, "correct": 2}
COMMON_WRONG = 3
LISTED = 15
_WORDS = re.compile(r"[^\w£%]+")
USAGE = (
    "Use /questions [COHORT|all] [TOPIC] for every question, worst first, or /questions ID for"
    " one question. Topics: " + ", ".join(sorted(TOPIC_TITLES))
)


@dataclass(frozen=True, slots=True)
class QuestionStat:
    question_id: str
    topic: str
    prompt: str
    answers: int
    learners: int
    first_correct: int
    wrong: tuple[tuple[str, int], ...]
    """The most common wrong answers, grouped, with how many gave each."""
    raised: int
    """Tutors' decisions better than the marker's verdict."""
    lowered: int
    flagged: int

    @property
    def facility(self) -> float | None:
        return self.first_correct / self.learners if self.learners else None

    @property
    def flagged_share(self) -> float:
        return self.flagged / self.answers if self.answers else 0.0


def shown_answer(answer: str, question: AnyQuestion | None) -> str:
    """An option pressed is stored as its number: show its words."""
    if isinstance(question, ChoiceQuestion) and answer.isdigit():
        index = int(answer)
        if index < len(question.options):
            return question.options[index].text
    return answer


def group_key(answer: str) -> str:
    """Answers that differ only in case, spacing and punctuation are one answer."""
    return " ".join(_WORDS.sub(" ", answer.lower()).split())


def question_stats(
    rows: Sequence[AnswerStat], questions: Mapping[str, AnyQuestion], topic: str | None = None
) -> list[QuestionStat]:
    """One QuestionStat per question answered (in `topic`, if given), worst first."""
    by_question: dict[str, list[AnswerStat]] = defaultdict(list)
    for row in rows:  # oldest first, so each learner's first try comes first
        if topic is None or row.topic == topic:
            by_question[row.question_id].append(row)
    stats = []
    for question_id, answers in by_question.items():
        question = questions.get(question_id)
        first: dict[int, AnswerStat] = {}
        for row in answers:
            first.setdefault(row.learner_id, row)
        wrong: Counter[str] = Counter()
        shown: dict[str, str] = {}
        for row in answers:
            if row.outcome in {"incorrect", "partial"} and row.answer.strip():
                text = shown_answer(row.answer, question)
                key = group_key(text)
                wrong[key] += 1
                shown.setdefault(key, text)
        decided = [r for r in answers if r.decision is not None]
        stats.append(
            QuestionStat(
                question_id=question_id,
                topic=answers[0].topic,
                prompt=question.prompt if question else question_id,
                answers=len(answers),
                learners=len(first),
                first_correct=sum(1 for r in first.values() if r.outcome == "correct"),
                wrong=tuple((shown[k], n) for k, n in wrong.most_common(COMMON_WRONG)),
                raised=sum(
                    1 for r in decided if RANKS[r.decision or ""] > RANKS[r.machine_outcome]
                ),
                lowered=sum(
                    1 for r in decided if RANKS[r.decision or ""] < RANKS[r.machine_outcome]
                ),
                flagged=sum(1 for r in answers if r.flagged),
            )
        )
    return sorted(stats, key=lambda s: (s.facility, -s.answers, s.question_id))


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)}%"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _overrides(stat: QuestionStat) -> str:
    if not stat.raised and not stat.lowered:
        return "no overrides"
    return f"overridden {stat.raised}↑ {stat.lowered}↓"


def listing_text(stats: Sequence[QuestionStat], title: str) -> str:
    """The worst questions first, one short block each, in one message."""
    if not stats:
        return f"❓ Questions – {title}: no answers yet."
    lines = [f"❓ Questions – {title}, worst first (facility = right on the first try)", ""]
    for stat in stats[:LISTED]:
        block = [
            f"• {stat.question_id} – facility {_percent(stat.facility)} of {stat.learners}"
            f" learner(s), {stat.answers} answer(s); {_overrides(stat)};"
            f" flagged {_percent(stat.flagged_share)}"
        ]
        if stat.wrong:
            text, count = stat.wrong[0]
            block.append(f"  most common wrong: “{_clip(text, 80)}” ×{count}")
        if len("\n".join(lines + block)) > MESSAGE_MAX - 120:
            break
        lines += block
    shown = sum(1 for line in lines if line.startswith("• "))
    if shown < len(stats):
        lines += ["", f"…and {len(stats) - shown} more. /export has them all (questions CSV)."]
    lines += ["", "/questions ID for one question in detail."]
    return "\n".join(lines)


def detail_text(stat: QuestionStat, title: str) -> str:
    lines = [
        f"❓ {stat.question_id} – {title}",
        _clip(stat.prompt, 600),
        "",
        f"Topic: {TOPIC_TITLES.get(stat.topic, stat.topic)}",
        f"Answers: {stat.answers} from {stat.learners} learner(s)",
        f"Facility (right on the first try): {_percent(stat.facility)}",
        f"Tutors overrode the marker: {stat.raised} up, {stat.lowered} down",
        f"Flagged by the marker: {stat.flagged} ({_percent(stat.flagged_share)})",
    ]
    if stat.wrong:
        lines += ["", "Most common wrong answers:"]
        lines += [f"• “{_clip(text, 200)}” ×{count}" for text, count in stat.wrong]
    return "\n".join(lines)


class QuestionDesk:
    """/questions for tutors (their cohorts) and admins (anyone)."""

    def __init__(self, reviews: ReviewDesk, questions: Mapping[str, AnyQuestion]) -> None:
        self.reviews = reviews
        self.questions = dict(questions)

    async def stats(
        self, user_id: int, cohort_word: str | None, topic: str | None = None
    ) -> tuple[Scope, list[QuestionStat]] | str:
        """The statistics a caller may see, or why they may not."""
        word = None if cohort_word in {None, "", "all"} else cohort_word
        scope = await self.reviews.scope(user_id, word)
        if isinstance(scope, str):
            return scope.replace("/review", "/questions")
        rows = await self.reviews.store.answer_stats(scope.learner_ids)
        return scope, question_stats(rows, self.questions, topic)

    async def command(self, user_id: int, args: Sequence[str]) -> Reply:
        """/questions [COHORT|all] [TOPIC] or /questions QUESTION_ID."""
        words = list(args)
        if len(words) == 1 and words[0] in self.questions:
            found = await self.stats(user_id, None)
            if isinstance(found, str):
                return Reply(text=found)
            scope, stats = found
            match = [s for s in stats if s.question_id == words[0]]
            if not match:
                return Reply(text=f"Nobody in {scope.title} has answered {words[0]} yet.")
            return Reply(text=detail_text(match[0], scope.title))
        topic = None
        if words and words[-1] in TOPIC_TITLES:
            topic = words.pop()
        found = await self.stats(user_id, " ".join(words) or None, topic)
        if isinstance(found, str):
            return Reply(text=found if "only for" in found else f"{found}\n{USAGE}")
        scope, stats = found
        title = scope.title + (f", {TOPIC_TITLES[topic]}" if topic else "")
        return Reply(text=listing_text(stats, title))
