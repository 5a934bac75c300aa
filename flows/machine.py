"""Scenarios compiled into transitions state machines, one shared machine per scenario.

A learner's `Turn` is attached for one input (`add_model(turn, initial=stored_state)`), a trigger
is fired, and the turn is detached; no learner lives in the machine between inputs. Callbacks
only compute: they mark the answer and collect replies and records on the turn, which the engine
then persists.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from transitions import EventData
from transitions.extensions.asyncio import AsyncMachine
from transitions.extensions.diagrams import GraphMachine

from flows.loader import ScenarioContent
from flows.ports import Outcome, StepResult
from flows.scenario import DEBRIEF, MAX_ATTEMPTS, Branch, Step
from knowledge.marking import mark
from knowledge.models import Verdict

# At INFO transitions logs every trigger, which costs more than the trigger itself.
logging.getLogger("transitions").setLevel(logging.WARNING)


@dataclass(frozen=True)
class MarkedAnswer:
    """An answer given during a turn, to be stored as evidence."""

    step: str
    answer: str
    verdict: Verdict


@dataclass(eq=False)  # eq=False: two equal turns must both be attachable (transitions keys by ==)
class Turn:
    """One learner's scenario state while one input is handled."""

    scenario: ScenarioContent
    facts: dict[str, str]
    attempts: int = 0
    results: list[StepResult] = field(default_factory=list)
    answer: str = ""
    choice: int | None = None
    typed_choice: bool = False
    """The choice was typed, not pressed: `answer` holds the learner's words."""
    verdict: Verdict | None = None
    events: list[TurnEvent] = field(default_factory=list)
    marked: list[MarkedAnswer] = field(default_factory=list)
    state: str = ""

    # Triggers added by the machine; declared so the type checker knows them.
    answer_given: Callable[[], Awaitable[bool]] = field(init=False, repr=False)
    skip_step: Callable[[], Awaitable[bool]] = field(init=False, repr=False)

    # ------------------------------------------------------------ conditions

    def prepare_answer(self, event: EventData) -> None:
        """Mark the answer once per input (prepare runs for every candidate transition)."""
        del event
        if self.verdict is None:
            question = self.scenario.question_for(self.state)
            answer: str | int = self.choice if self.choice is not None else self.answer
            # A typed choice is marked as typed, so what it adds beside the option is checked
            # too ("B, as long as he has the receipt"); a pressed button carries no words.
            if self.choice is not None and self.typed_choice:
                answer = self.answer
            self.verdict = mark(
                question, answer, self.scenario.case_context(self.state, self.facts)
            )
            self.marked.append(MarkedAnswer(self.state, self.answer, self.verdict))

    def passed(self, event: EventData) -> bool:
        del event
        return self.verdict is not None and self.verdict.outcome == "correct"

    def flagged(self, event: EventData) -> bool:
        """The marker did not recognise something the answer says: a tutor will review it,
        so the learner is not held back by what the marker does not know."""
        del event
        return self.verdict is not None and self.verdict.review

    def out_of_tries(self, event: EventData) -> bool:
        del event
        return self.attempts + 1 >= MAX_ATTEMPTS

    # ------------------------------------------------------------ callbacks

    def record_pass(self, event: EventData) -> None:
        del event  # "before" callbacks run while the turn is still in the source step
        self._close_step(self.state, "correct")

    def record_flagged(self, event: EventData) -> None:
        del event
        assert self.verdict is not None
        self._close_step(self.state, "flagged")

    def record_reveal(self, event: EventData) -> None:
        del event
        self._close_step(self.state, "revealed")

    def record_skip(self, event: EventData) -> None:
        del event
        self._close_step(self.state, "skipped")

    def retry(self, event: EventData) -> None:
        del event
        self.attempts += 1
        assert self.verdict is not None
        self.events.append(TurnEvent("retry", self.state, self.verdict))

    def enter_step(self, event: EventData) -> None:
        self.attempts = 0
        self.events.append(TurnEvent("step", event.state.name, None))

    def enter_debrief(self, event: EventData) -> None:
        del event
        self.events.append(TurnEvent("debrief", DEBRIEF, None))

    def _close_step(self, step_id: str, event: str) -> None:
        question = self.scenario.question_for(step_id)
        score = 0.0
        # Full marks first time; each retry costs a fifth.
        penalty = max(0.4, 1.0 - 0.2 * self.attempts)
        outcome: Outcome = "correct" if event == "correct" else event  # type: ignore[assignment]
        if event == "correct" and self.verdict is not None:
            score = round(penalty, 2)
        elif event == "flagged" and self.verdict is not None:
            # Provisional: the marker's own verdict stands until a tutor reviews it.
            outcome = self.verdict.outcome
            score = round(self.verdict.score * penalty, 2)
        self.results.append(
            StepResult(
                step=step_id,
                question_id=question.id,
                outcome=outcome,
                score=score,
                attempts=self.attempts + (0 if event == "skipped" else 1),
            )
        )
        self.events.append(TurnEvent(event, step_id, self.verdict))


@dataclass(frozen=True)
class TurnEvent:
    """Something that happened during a turn, rendered into replies by the engine."""

    kind: str  # "step", "correct", "flagged", "revealed", "skipped", "retry", "debrief"
    step: str
    verdict: Verdict | None


def _branch_condition(branch: Branch) -> Callable[[EventData], bool]:
    if branch.choice is not None:
        wanted = branch.choice

        def chose(event: EventData) -> bool:
            turn = cast(Turn, event.model)
            return turn.choice == wanted

        chose.__name__ = f"chose_option_{wanted}"
        return chose

    expected = dict(branch.when)

    def facts_match(event: EventData) -> bool:
        turn = cast(Turn, event.model)
        return all(turn.facts.get(name) == value for name, value in expected.items())

    facts_match.__name__ = "when_" + "_and_".join(f"{k}_is_{v}" for k, v in expected.items())
    return facts_match


def _branches(step: Step) -> list[tuple[str, list[Callable[[EventData], bool]]]]:
    if isinstance(step.next, str):
        return [(step.next, [])]
    result: list[tuple[str, list[Callable[[EventData], bool]]]] = []
    for branch in step.next:
        conditional = branch.when or branch.choice is not None
        result.append((branch.goto, [_branch_condition(branch)] if conditional else []))
    return result


_MOVING_ON = (
    ("passed", "record_pass"),
    ("flagged", "record_flagged"),
    ("out_of_tries", "record_reveal"),
)


def machine_definition(content: ScenarioContent) -> dict[str, Any]:
    """States and transitions of a scenario, shared by the runtime and the diagram."""
    steps = content.scenario.steps
    states: list[dict[str, Any]] = [
        {"name": step.id, "on_enter": ["enter_step"]} for step in steps
    ]
    states.append({"name": DEBRIEF, "on_enter": ["enter_debrief"], "final": True})
    transitions: list[dict[str, Any]] = []
    for step in steps:
        branches = _branches(step)
        # An answer moves on when it passed, was flagged for a tutor, or used the last try;
        # transitions are tried in this order, and the first whose conditions hold fires.
        for condition, record in _MOVING_ON:
            transitions.extend(
                {
                    "trigger": "answer_given",
                    "source": step.id,
                    "dest": dest,
                    "prepare": ["prepare_answer"],
                    "conditions": [condition, *conditions],
                    "before": [record],
                }
                for dest, conditions in branches
            )
        transitions.append(
            {
                "trigger": "answer_given",
                "source": step.id,
                "dest": None,
                "prepare": ["prepare_answer"],
                "after": ["retry"],
            }
        )
        for dest, conditions in branches:
            transitions.append(
                {
                    "trigger": "skip_step",
                    "source": step.id,
                    "dest": dest,
                    "conditions": conditions,
                    "before": ["record_skip"],
                }
            )
    return {"states": states, "transitions": transitions, "initial": content.scenario.start}


class ScenarioMachine:
    """One compiled scenario; attach a turn, fire, detach."""

    def __init__(self, content: ScenarioContent) -> None:
        self.content = content
        definition = machine_definition(content)
        self._machine = AsyncMachine(
            model=None,
            states=definition["states"],
            transitions=definition["transitions"],
            initial=definition["initial"],
            auto_transitions=False,
            send_event=True,
            queued=False,
        )

    async def fire(self, turn: Turn, state: str, trigger: str) -> str:
        """Attach `turn` at `state`, fire `trigger`, detach; return the new state."""
        self._machine.add_model(turn, initial=state)
        try:
            await turn.trigger(trigger)  # type: ignore[attr-defined]  # added by add_model
        finally:
            self._machine.remove_model(turn)
        return turn.state

    def enter(self, turn: Turn) -> str:
        """Record entering the start step (a new run runs no callbacks on attach)."""
        turn.attempts = 0
        turn.events.append(TurnEvent("step", self.content.scenario.start, None))
        return self.content.scenario.start

    @property
    def attached(self) -> int:
        """Models attached right now (should be only the turns being handled)."""
        return len(self._machine.models)


def mermaid_diagram(content: ScenarioContent) -> str:
    """The scenario's state machine as a Mermaid diagram, from the same definition."""

    class DiagramModel:
        pass

    definition = machine_definition(content)
    model = DiagramModel()
    GraphMachine(
        model=model,
        states=definition["states"],
        transitions=definition["transitions"],
        initial=definition["initial"],
        auto_transitions=False,
        graph_engine="mermaid",
        show_conditions=True,
        title=content.scenario.title,
    )
    graph = model.get_graph()  # type: ignore[attr-defined]  # added by GraphMachine
    return str(graph.draw(None))


def compile_all(scenarios: Mapping[str, ScenarioContent]) -> dict[str, ScenarioMachine]:
    """One machine per scenario, built once at start."""
    return {scenario_id: ScenarioMachine(c) for scenario_id, c in scenarios.items()}
