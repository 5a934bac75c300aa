"""Every question a learner can meet, by one id: bank questions and scenario steps.

A bank question is named by its id (`cra-reject-window`); a scenario step by
`SCENARIO_ID/STEP_ID` (`faulty-kettle-refund/reply_refund`), marked against the scenario's case
in the first variant that reaches the step unless another variant is named. `coach grade`,
`coach content questions` and the content check use this one catalogue, so a step is measured
like any bank question.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from flows.loader import ScenarioContent
from knowledge.loader import KnowledgeBase
from knowledge.models import AnyQuestion, CaseContext


@dataclass(frozen=True)
class Askable:
    """A question as a learner meets it: where it is asked, and the case it is about."""

    id: str
    question: AnyQuestion
    case: CaseContext | None = None
    variant: str | None = None


class UnknownQuestionError(LookupError):
    """No question, step or variant by that name; the message says what is known."""


def step_id(scenario_id: str, step: str) -> str:
    return f"{scenario_id}/{step}"


def find_askable(
    kb: KnowledgeBase,
    scenarios: Mapping[str, ScenarioContent],
    question_id: str,
    variant: str | None = None,
) -> Askable:
    """The bank question or scenario step named `question_id` (see the module docstring)."""
    if "/" not in question_id:
        question = kb.question(question_id)
        if question is None:
            raise UnknownQuestionError(f"unknown question id {question_id!r}")
        if variant is not None:
            raise UnknownQuestionError("only a scenario step (SCENARIO/STEP) has variants")
        return Askable(question_id, question)
    scenario_id, _, step = question_id.partition("/")
    content = scenarios.get(scenario_id)
    if content is None:
        raise UnknownQuestionError(f"unknown scenario {scenario_id!r}")
    if step not in content.questions:
        known = ", ".join(content.questions)
        raise UnknownQuestionError(f"scenario {scenario_id!r} has no step {step!r} ({known})")
    variants = content.scenario.variants
    index = 0
    if variant is not None:
        names = [v.id for v in variants]
        if variant not in names:
            raise UnknownQuestionError(
                f"scenario {scenario_id!r} has no variant {variant!r}"
                + (f" ({', '.join(names)})" if names else " (it has none)")
            )
        index = names.index(variant)
    else:
        # The first version of the case that reaches the step: a step only the 45-day
        # customer meets is marked against 45 days.
        reaching = [
            n
            for n in range(max(1, len(variants)))
            if step in reachable_steps(content, content.scenario.facts_for(n))
        ]
        index = reaching[0] if reaching else 0
    facts = content.scenario.facts_for(index)
    return Askable(
        question_id,
        content.question_for(step),
        content.case_context(step, facts),
        variants[index].id if variants else None,
    )


def all_askables(kb: KnowledgeBase, scenarios: Mapping[str, ScenarioContent]) -> Iterator[Askable]:
    """Every bank question, then every scenario step (in the first variant that reaches it)."""
    for question_id in kb.questions:
        yield find_askable(kb, scenarios, question_id)
    for scenario_id, content in scenarios.items():
        for step in content.questions:
            yield find_askable(kb, scenarios, step_id(scenario_id, step))


def own_questions(
    kb: KnowledgeBase, scenarios: Mapping[str, ScenarioContent]
) -> Iterator[Askable]:
    """The scenario steps marked by a question of their own: written inline, or a bank question
    with the step's `applied` concepts (its examples and model answer are the step's)."""
    for askable in all_askables(kb, scenarios):
        if askable.case is not None and askable.question is not kb.question(askable.question.id):
            yield askable


def reachable_steps(content: ScenarioContent, facts: Mapping[str, str]) -> set[str]:
    """The steps a learner can reach in this version of the case (fact branches followed as
    the facts say; a choice branch may go either way)."""
    scenario = content.scenario
    seen: set[str] = set()
    todo = [scenario.start]
    while todo:
        current = todo.pop()
        if current in seen or current not in content.questions:
            continue
        seen.add(current)
        step = scenario.step(current)
        if isinstance(step.next, str):
            todo.append(step.next)
            continue
        for branch in step.next:
            if branch.choice is not None:
                todo.append(branch.goto)
            elif all(facts.get(k) == v for k, v in branch.when.items()):
                todo.append(branch.goto)
                break
    return seen
