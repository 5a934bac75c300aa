"""Scenario content: a customer, a case and steps, validated at load like every content file.

A scenario is a role-play. Each step is a state of the scenario's state machine: the customer
says something, the learner gets a task, and a question (from the bank, or written inline for
this case) marks the answer. Steps move on by `next`, which may branch on the case's facts or on
the option the learner chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from knowledge.models import ID_RE, Cited, Concept, CriterionCode, Example, Topic

StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=30)]
PersonaType = Literal["angry", "confused", "upset", "knowledgeable", "ict-beginner"]
StepKind = Literal[
    "acknowledge", "investigate", "resolve", "reply", "record", "follow-up", "refer"
]
DEBRIEF = "debrief"
MAX_ATTEMPTS = 3


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Persona(Frozen):
    """Who the customer is; `type` is one of the customer types in unit A/500/7158."""

    type: PersonaType
    name: Annotated[str, Field(min_length=2, max_length=60)]
    description: Annotated[str, Field(min_length=10, max_length=300)]


class Case(Frozen):
    """The facts of the case the learner is handling."""

    product: Annotated[str, Field(min_length=2, max_length=80)]
    reference: Annotated[str, Field(pattern=r"^[A-Z]{2,5}-\d{3,8}$")]
    purchased: Annotated[str, Field(min_length=2, max_length=80)]
    channel: Literal["in store", "online", "phone", "service visit", "app store"]
    payment: Annotated[str, Field(min_length=2, max_length=80)]
    price: Annotated[str, Field(min_length=2, max_length=20)]
    problem: Annotated[str, Field(min_length=10, max_length=400)]
    facts: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], str] = Field(
        default_factory=dict
    )


class Variant(Frozen):
    """An alternative version of the case (e.g. bought 12 or 45 days ago) chosen per attempt."""

    id: Annotated[str, Field(pattern=ID_RE)]
    facts: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], str]


class Branch(Frozen):
    """Go to `goto` when every fact in `when` has that value (an empty `when` always matches)."""

    when: dict[str, str] = Field(default_factory=dict)
    choice: int | None = Field(default=None, ge=0)
    """Instead of facts: the option the learner picked (choice questions only)."""
    goto: StepId


class Step(Frozen):
    """One state of the role-play."""

    id: StepId
    kind: StepKind
    customer: Annotated[str, Field(min_length=1, max_length=1200)]
    """What the customer says; may use {product}, {reference}, {purchased}, facts, etc."""
    task: Annotated[str, Field(min_length=5, max_length=600)]
    question: Annotated[str, Field(pattern=ID_RE)] | None = None
    """A question from the bank."""
    ask: dict[str, Any] | None = None
    """An inline question for this case (same fields as a bank question, id given by the step)."""
    applied: Annotated[tuple[Concept, ...], Field(min_length=1)] = ()
    """With `question`: what the answer must also say in this step, the rule applied to the
    case ("she is still inside the 14 days"), as rubric concepts."""
    model_answer: Cited | None = None
    """With `question`: the step's own model answer, applying the rule to the case."""
    examples: tuple[Example, ...] = ()
    """With `question`: answers to this step and their verdicts (checked like a rubric's)."""
    next: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | tuple[Branch, ...]

    @model_validator(mode="after")
    def _one_question(self) -> Step:
        if (self.question is None) == (self.ask is None):
            raise ValueError("a step needs exactly one of 'question' (bank id) or 'ask' (inline)")
        own = [n for n in ("applied", "model_answer", "examples") if n in self.model_fields_set]
        if self.ask is not None and own:
            raise ValueError(
                f"'{own[0]}' is only for a step that reuses a bank question ('question:');"
                " an inline 'ask' writes its own rubric, model answer and examples"
            )
        if self.question is not None and own and not self.applied:
            raise ValueError(
                f"'{own[0]}' needs 'applied': the concepts this step adds to the bank question"
            )
        if isinstance(self.next, tuple):
            if not self.next:
                raise ValueError("'next' needs at least one branch")
            if self.next[-1].when or self.next[-1].choice is not None:
                raise ValueError("the last branch of 'next' must have no condition (the default)")
        return self

    def destinations(self) -> list[str]:
        if isinstance(self.next, str):
            return [self.next]
        return [branch.goto for branch in self.next]


class Scenario(Frozen):
    """A complete role-play."""

    id: Annotated[str, Field(pattern=ID_RE, max_length=40)]
    title: Annotated[str, Field(min_length=5, max_length=60)]
    summary: Annotated[str, Field(min_length=10, max_length=300)]
    topic: Topic
    persona: Persona
    case: Case
    variants: tuple[Variant, ...] = ()
    criteria: Annotated[tuple[CriterionCode, ...], Field(min_length=1)]
    start: StepId
    steps: Annotated[tuple[Step, ...], Field(min_length=3, max_length=20)]

    @model_validator(mode="after")
    def _graph_is_sound(self) -> Scenario:
        ids = [step.id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        if DEBRIEF in ids:
            raise ValueError(f"'{DEBRIEF}' is reserved for the end of the scenario")
        known = {*ids, DEBRIEF}
        if self.start not in ids:
            raise ValueError(f"start step {self.start!r} is not a step")
        for step in self.steps:
            for target in step.destinations():
                if target not in known:
                    raise ValueError(f"step {step.id!r} goes to unknown step {target!r}")
                if target == step.id:
                    raise ValueError(f"step {step.id!r} cannot lead to itself")
        reachable = self._reachable()
        unreachable = [i for i in ids if i not in reachable]
        if unreachable:
            raise ValueError(f"steps never reached from {self.start!r}: {', '.join(unreachable)}")
        if DEBRIEF not in reachable:
            raise ValueError("no path reaches the debrief")
        if not any(step.kind == "record" for step in self.steps):
            raise ValueError("a scenario must include a 'record' step (log the interaction)")
        fact_names = set(self.case.facts) | {k for v in self.variants for k in v.facts}
        for step in self.steps:
            if isinstance(step.next, tuple):
                for branch in step.next:
                    unknown = set(branch.when) - fact_names
                    if unknown:
                        raise ValueError(f"step {step.id!r} branches on unknown fact(s) {unknown}")
        return self

    def _reachable(self) -> set[str]:
        by_id: Mapping[str, Step] = {step.id: step for step in self.steps}
        seen: set[str] = set()
        todo = [self.start]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in by_id:
                todo.extend(by_id[current].destinations())
        return seen

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    def facts_for(self, variant_index: int) -> dict[str, str]:
        """The case facts, overridden by the chosen variant (if the scenario has variants)."""
        facts = dict(self.case.facts)
        if self.variants:
            facts.update(self.variants[variant_index % len(self.variants)].facts)
        return facts
