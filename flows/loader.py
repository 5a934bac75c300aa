"""Load scenario files and resolve every question they ask (bank or inline)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flows.placeholders import check_placeholders, fill
from flows.scenario import Scenario, Step
from knowledge import citations
from knowledge.loader import (
    ContentError,
    Document,
    KnowledgeBase,
    QuestionSources,
    build_question,
    describe_error,
    read_document,
)
from knowledge.models import AnyQuestion, CaseContext, TextQuestion

SCENARIO_DIR = Path(__file__).parent / "scenarios"


@dataclass(frozen=True, eq=False)  # identity: one object per loaded scenario (a cache key)
class ScenarioContent:
    """A validated scenario with the question each step asks."""

    scenario: Scenario
    questions: Mapping[str, AnyQuestion]
    """step id -> question"""
    path: Path

    def question_for(self, step_id: str) -> AnyQuestion:
        return self.questions[step_id]

    def case_context(self, step_id: str, facts: Mapping[str, str]) -> CaseContext:
        """The case a step's answer is marked against: what the learner was told (the case
        card, the customer's line, the task) and the facts of this attempt."""
        return _case_context(self, step_id, tuple(sorted(facts.items())))

    def criteria(self) -> set[str]:
        """Criteria the scenario evidences: its own and those of every question it asks."""
        codes = set(self.scenario.criteria)
        for question in self.questions.values():
            codes.update(question.criteria)
        return codes


@lru_cache(maxsize=1024)
def _case_context(
    content: ScenarioContent, step_id: str, facts: tuple[tuple[str, str], ...]
) -> CaseContext:
    scenario = content.scenario
    case = scenario.case
    values = case_values(scenario, dict(facts))
    step = scenario.step(step_id)
    texts = (
        case.purchased,
        case.price,
        case.problem,
        *dict(facts).values(),
        fill(step.customer, values),
        fill(step.task, values),
    )
    days = dict(facts).get("days_ago", "")
    return CaseContext(
        texts=texts,
        channel=case.channel,
        days_since=int(days) if days.isdigit() else None,
        facts=dict(facts),
        values=values,
        taught_texts=tuple(
            (f"{question.prompt} {question.basis}", question.model_answer)
            for question in content.questions.values()
        ),
    )


def inline_question_id(scenario_id: str, step_id: str) -> str:
    return f"{scenario_id}-{step_id.replace('_', '-')}"


def _inline_question(scenario: Scenario, step: Step) -> dict[str, Any]:
    assert step.ask is not None
    if "id" in step.ask:
        raise ValueError("an inline question gets its id from the step; remove 'id'")
    return {
        "id": inline_question_id(scenario.id, step.id),
        "prompt": step.task,
        "topic": scenario.topic,
        **step.ask,
    }


def _applied_question(
    question: AnyQuestion, step: Step, document: Document, location: tuple[str | int, ...]
) -> TextQuestion:
    """The bank question as this step asks it: its rubric plus the step's `applied` concepts,
    with the step's model answer and examples (see `TextQuestion.applied_to_case`)."""
    path = document.path
    if not isinstance(question, TextQuestion):
        raise ContentError(
            path,
            document.line_of((*location, "applied")),
            f"step {step.id!r}: 'applied' needs a free-text bank question, and"
            f" {question.id!r} is a {question.type} question",
        )
    known = question.rubric.concept_ids()
    for index, concept in enumerate(step.applied):
        if concept.id in known:
            raise ContentError(
                path,
                document.line_of((*location, "applied", index, "id")),
                f"step {step.id!r}: applied concept id {concept.id!r} clashes with a concept"
                f" of {question.id!r}'s rubric",
            )
    ids = [c.id for c in step.applied]
    if len(set(ids)) != len(ids):
        raise ContentError(
            path, document.line_of((*location, "applied")), "applied concept ids must be unique"
        )
    if step.model_answer:
        try:
            citations.check(step.model_answer, citations.find_law(question.basis), need_law=True)
        except citations.CitationError as error:
            raise ContentError(
                path, document.line_of((*location, "model_answer")), str(error)
            ) from None
    return question.applied_to_case(step.applied, step.model_answer, step.examples)


def case_values(scenario: Scenario, facts: Mapping[str, str]) -> dict[str, str]:
    """Values for {placeholders} in customer lines."""
    case = scenario.case
    return {
        "name": scenario.persona.name,
        "product": case.product,
        "reference": case.reference,
        "purchased": case.purchased,
        "payment": case.payment,
        "price": case.price,
        "channel": case.channel,
        **facts,
    }


def load_scenario(path: Path, kb: KnowledgeBase) -> ScenarioContent:
    """Load and check one scenario file; raise `ContentError` with file and line."""
    document = read_document(path)
    if not isinstance(document.data, dict):
        raise ContentError(path, 1, "a scenario file holds one scenario (a mapping)")
    try:
        scenario = Scenario.model_validate(document.data, context=kb.validation_context())
    except ValidationError as error:
        raise describe_error(error, document) from None
    if path.stem != scenario.id:
        raise ContentError(
            path, document.line_of(("id",)), "the file name must be the scenario id"
        )

    sources = QuestionSources.of(kb)
    questions: dict[str, AnyQuestion] = {}
    for index, step in enumerate(scenario.steps):
        location: tuple[str | int, ...] = ("steps", index)
        if step.question is not None:
            question = kb.question(step.question)
            if question is None:
                raise ContentError(
                    path,
                    document.line_of((*location, "question")),
                    f"step {step.id!r} asks unknown question {step.question!r}",
                )
            if step.applied:
                question = _applied_question(question, step, document, location)
        else:
            try:
                raw = _inline_question(scenario, step)
            except ValueError as error:
                raise ContentError(path, document.line_of(location), str(error)) from None
            question = build_question(raw, sources, document, (*location, "ask"))
            if question.id in kb.questions:
                raise ContentError(
                    path,
                    document.line_of(location),
                    f"inline question id {question.id!r} clashes with a bank question",
                )
        if isinstance(step.next, tuple):
            for branch in step.next:
                if branch.choice is not None and getattr(question, "type", "") != "single":
                    raise ContentError(
                        path,
                        document.line_of((*location, "next")),
                        f"step {step.id!r} branches on a choice but does not ask a single-choice"
                        " question",
                    )
        questions[step.id] = question
        check_placeholders(scenario, step, question, path, document.line_of(location))
    return ScenarioContent(scenario, questions, path)


def load_scenarios(
    kb: KnowledgeBase, directory: Path = SCENARIO_DIR
) -> dict[str, ScenarioContent]:
    """Every scenario under `directory`, by id; ids must be unique."""
    scenarios: dict[str, ScenarioContent] = {}
    for path in sorted(directory.glob("*.yaml")):
        content = load_scenario(path, kb)
        scenario_id = content.scenario.id
        if scenario_id in scenarios:
            raise ContentError(
                path,
                1,
                f"duplicate scenario id {scenario_id!r} (also in {scenarios[scenario_id].path})",
            )
        scenarios[scenario_id] = content
    return scenarios
