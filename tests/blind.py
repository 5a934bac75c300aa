"""Measure marking against blind answer sets (answers tutors wrote without seeing the rubrics).

A set is a YAML list of `{question_id, variant?, answers: [{answer, verdict, note?}]}`; the id
is a bank question or SCENARIO/STEP. Verdicts are the tutor's: correct, partial, incorrect, or
no-option (a typed reply to a choice question that names no option: the chat asks again).

`python -m tests.blind FILE...` prints the per-set and per-question tables the README shows.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from flows.loader import ScenarioContent, load_scenarios
from flows.questions import find_askable, reachable_steps
from knowledge.choices import read_choice
from knowledge.loader import KnowledgeBase, load_knowledge_base
from knowledge.marking import mark
from knowledge.models import ChoiceQuestion, OrderQuestion

DATA = Path(__file__).parent / "knowledge" / "data"


@dataclass
class Tally:
    """Tutor verdict vs marker verdict counts, and how many answers were flagged for review."""

    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    flagged: int = 0
    flagged_disagreeing: int = 0

    @property
    def total(self) -> int:
        return sum(self.pairs.values())

    @property
    def agreement(self) -> float:
        same = sum(n for (tutor, marker), n in self.pairs.items() if tutor == marker)
        return same / self.total if self.total else 1.0

    @property
    def incorrect(self) -> int:
        return sum(n for (tutor, _), n in self.pairs.items() if tutor == "incorrect")

    @property
    def false_correct(self) -> int:
        return self.pairs[("incorrect", "correct")]

    @property
    def false_correct_share(self) -> float:
        return self.false_correct / self.incorrect if self.incorrect else 0.0

    @property
    def flagged_share(self) -> float:
        return self.flagged / self.total if self.total else 0.0

    def add(self, other: Tally) -> None:
        self.pairs.update(other.pairs)
        self.flagged += other.flagged
        self.flagged_disagreeing += other.flagged_disagreeing


@dataclass(frozen=True)
class Graded:
    question_id: str
    answer: str
    tutor: str
    marker: str
    review: bool
    note: str


def grade_set(
    kb: KnowledgeBase, scenarios: Mapping[str, ScenarioContent], path: Path
) -> Iterator[Graded]:
    """Mark every answer of a set as the chat would (choices read first)."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in items:
        askable = find_askable(kb, scenarios, item["question_id"], item.get("variant"))
        if "/" in askable.id and askable.case is not None:
            scenario_id, _, step = askable.id.partition("/")
            if step not in reachable_steps(scenarios[scenario_id], askable.case.facts):
                continue  # this version of the case never reaches the step
        question = askable.question
        for entry in item["answers"]:
            answer = str(entry["answer"])
            if isinstance(question, ChoiceQuestion | OrderQuestion):
                reading = read_choice(question, answer)
                if reading.problem is not None:
                    yield Graded(askable.id, answer, entry["verdict"], "no-option", False, "")
                    continue
            verdict = mark(question, answer, askable.case)
            yield Graded(
                askable.id,
                answer,
                entry["verdict"],
                verdict.outcome,
                verdict.review,
                "; ".join(verdict.misconceptions),
            )


def tally(graded: Iterator[Graded]) -> tuple[Tally, dict[str, Tally]]:
    whole = Tally()
    by_question: dict[str, Tally] = defaultdict(Tally)
    for g in graded:
        for t in (whole, by_question[g.question_id]):
            t.pairs[(g.tutor, g.marker)] += 1
            t.flagged += g.review
            t.flagged_disagreeing += g.review and g.tutor != g.marker
    return whole, dict(by_question)


def main(paths: list[str]) -> None:
    kb = load_knowledge_base()
    scenarios = load_scenarios(kb)
    verbose = "-v" in paths
    per_question: dict[str, Tally] = defaultdict(Tally)
    for name in [p for p in paths if p != "-v"]:
        path = Path(name) if Path(name).exists() else DATA / name
        graded = list(grade_set(kb, scenarios, path))
        whole, questions = tally(iter(graded))
        for question_id, t in questions.items():
            per_question[question_id].add(t)
        print(
            f"{path.name}: {whole.total} answers, agreement {whole.agreement:.1%}, wrong marked"
            f" correct {whole.false_correct}/{whole.incorrect} ({whole.false_correct_share:.1%}),"
            f" flagged {whole.flagged_share:.1%} ({whole.flagged_disagreeing} of them disagreeing)"
        )
        if verbose:
            for g in graded:
                if g.tutor != g.marker:
                    flag = " [review]" if g.review else ""
                    print(
                        f"  {g.question_id}: tutor {g.tutor}, marker {g.marker}{flag} ({g.note})"
                    )
                    print(f"      {g.answer}")
    print("\n| question | answers | agreement | wrong marked correct | flagged |")
    print("| --- | --- | --- | --- | --- |")
    for question_id, t in sorted(per_question.items(), key=lambda kv: kv[1].agreement):
        print(
            f"| {question_id} | {t.total} | {t.agreement:.0%} |"
            f" {t.false_correct}/{t.incorrect} | {t.flagged} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
