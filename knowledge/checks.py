"""Content checks behind `coach content check`: contract, examples, coverage, Telegram limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.citations import CitationError, check
from knowledge.loader import KnowledgeBase
from knowledge.marking import mark
from knowledge.models import (
    AnyQuestion,
    CaseContext,
    ChoiceQuestion,
    NumericQuestion,
    TextQuestion,
)

MIN_EVIDENCE = 2


@dataclass(frozen=True)
class CoverageRow:
    code: str
    title: str
    evidence: str
    questions: int
    scenarios: int

    @property
    def total(self) -> int:
        return self.questions + self.scenarios


@dataclass
class ContentReport:
    """Problems make the check fail; notes are worth knowing but fine."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    coverage: list[CoverageRow] = field(default_factory=list)
    examples_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def load_core_contract(path: Path) -> list[dict[str, Any]]:
    """The shared core-questions file as plain data."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise TypeError(f"{path}: expected a list of questions")
    return data


@dataclass(frozen=True)
class StepQuestion:
    """A scenario step's own question (written inline, or a bank question with the step's
    `applied` concepts), with the case it is marked against."""

    name: str
    """SCENARIO_ID/STEP_ID"""
    question: AnyQuestion
    case: CaseContext | None


def check_content(
    kb: KnowledgeBase,
    core_contract: Sequence[Mapping[str, Any]] | None = None,
    scenario_criteria: Mapping[str, int] | None = None,
    steps: Sequence[StepQuestion] = (),
) -> ContentReport:
    """Check everything that loading alone cannot: the contract, examples and coverage.

    `steps` are scenario steps' inline questions: their examples and model answers are
    marked like a bank question's, against the step's case.
    """
    report = ContentReport()
    _check_contract(kb, core_contract, report)
    bank = [StepQuestion(q.id, q, None) for q in kb.questions.values()]
    _check_examples([*bank, *steps], report)
    _check_model_answers([*bank, *steps], report)
    _check_polls(kb, report)
    _check_shared_citations(kb, report)
    _coverage(kb, scenario_criteria or {}, report)
    return report


def _check_contract(
    kb: KnowledgeBase, contract: Sequence[Mapping[str, Any]] | None, report: ContentReport
) -> None:
    if contract is None:
        report.notes.append("core questions file not found: contract not checked")
        return
    for item in contract:
        question_id = str(item.get("id"))
        question = kb.question(question_id)
        if question is None:
            report.problems.append(f"core question {question_id!r} is missing")
            continue
        if question.prompt != item.get("prompt"):
            report.problems.append(
                f"core question {question_id!r}: prompt differs from the contract"
            )
        if not question.core:
            report.problems.append(f"core question {question_id!r} is not marked core: true")
        for example in item.get("examples", []):
            report.examples_checked += 1
            verdict = mark(question, str(example["answer"]))
            if verdict.outcome != example["verdict"]:
                report.problems.append(
                    f"core question {question_id!r}: {example['answer']!r} marked"
                    f" {verdict.outcome}, contract says {example['verdict']}"
                )


def _check_examples(questions: Sequence[StepQuestion], report: ContentReport) -> None:
    for item in questions:
        for example in item.question.examples:
            report.examples_checked += 1
            verdict = mark(item.question, example.answer, item.case)
            if verdict.outcome != example.verdict:
                report.problems.append(
                    f"question {item.name!r}: example {example.answer!r} marked"
                    f" {verdict.outcome}, expected {example.verdict}"
                    f" ({'; '.join(verdict.misconceptions or verdict.missing)})"
                )


def _check_model_answers(questions: Sequence[StepQuestion], report: ContentReport) -> None:
    """A question's own model answer (shown after three tries) must mark correct."""
    for item in questions:
        question = item.question
        if isinstance(question, TextQuestion | NumericQuestion):
            report.examples_checked += 1
            verdict = mark(question, question.model_answer, item.case)
            if verdict.outcome != "correct":
                report.problems.append(
                    f"question {item.name!r}: its model answer is marked {verdict.outcome}"
                    f" ({'; '.join(verdict.misconceptions or verdict.missing)})"
                )


def _check_polls(kb: KnowledgeBase, report: ContentReport) -> None:
    for question in kb.questions.values():
        single = isinstance(question, ChoiceQuestion) and question.type == "single"
        if single and isinstance(question, ChoiceQuestion) and not question.fits_quiz_poll():
            report.notes.append(
                f"question {question.id!r} is too long for a Telegram quiz poll"
                " (prompt over 300 characters): it is sent as a message with buttons"
            )


def _check_shared_citations(kb: KnowledgeBase, report: ContentReport) -> None:
    """Shared misconceptions serve many questions, so each of their citations names its law."""
    for claim_id, claim in kb.misconceptions.items():
        try:
            check(str(claim.get("feedback", "")), need_law=True)
        except CitationError as error:
            report.problems.append(f"misconception {claim_id!r}: {error}")


def _coverage(
    kb: KnowledgeBase, scenario_criteria: Mapping[str, int], report: ContentReport
) -> None:
    for code, criterion in kb.criteria.items():
        questions = sum(1 for q in kb.questions.values() if code in q.criteria)
        row = CoverageRow(
            code, criterion.title, criterion.evidence, questions, scenario_criteria.get(code, 0)
        )
        report.coverage.append(row)
        if row.total < MIN_EVIDENCE:
            report.problems.append(
                f"criterion {code} is evidenced by only {row.total} item(s); at least"
                f" {MIN_EVIDENCE} are needed"
            )
