"""Every question a learner can meet, as the learner sees it and without its rubric: what a
blind answer writer works from (`python -m tests.blind_questions > questions.md`).

Scenario steps carry the case card (the customer's name, the reference, the product), the
customer's line and the task; choice options are lettered and order items numbered exactly as
the chat shows them, so "2 1 4 3" means what it means to a learner. Nothing that marks an
answer (concepts, patterns, forbidden claims, model answers, examples, option explanations)
is printed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping

from flows.loader import ScenarioContent, load_scenarios
from flows.placeholders import fill
from flows.questions import all_askables
from knowledge.choices import presented_order
from knowledge.loader import KnowledgeBase, load_knowledge_base
from knowledge.models import ChoiceQuestion, OrderQuestion

HEADER = """# Questions a learner meets (no rubrics)

Choice options are lettered and order items numbered as the learner sees them: order items
are shown shuffled, and the learner puts them in the right order ("2 1 4 3").
"""


def question_lines(kb: KnowledgeBase, scenarios: Mapping[str, ScenarioContent]) -> Iterator[str]:
    """The dump, line by line."""
    yield HEADER
    for askable in all_askables(kb, scenarios):
        question = askable.question
        variant = f"  (variant {askable.variant})" if askable.variant else ""
        yield f"## {askable.id}{variant}"
        yield f"type: {question.type}"
        if askable.case is not None:
            content = scenarios[askable.id.partition("/")[0]]
            card = content.scenario.case.model_dump(exclude={"facts"})
            shown = "; ".join(f"{key}: {value}" for key, value in card.items() if value)
            yield f"case card: customer {content.scenario.persona.name}; {shown}"
            step = content.scenario.step(askable.id.partition("/")[2])
            values = askable.case.values
            yield from (f"> {fill(text, values)}" for text in (step.customer, step.task) if text)
            yield f"prompt: {fill(question.prompt, values)}"
        else:
            yield f"prompt: {question.prompt}"
        if isinstance(question, ChoiceQuestion):
            for index, text in enumerate(question.options_texts()):
                yield f"  {chr(ord('A') + index)}) {text}"
            if question.type == "multiple":
                yield "  (several options may be right)"
        elif isinstance(question, OrderQuestion):
            for number, index in enumerate(presented_order(question), start=1):
                yield f"  {number}. {question.items[index]}"
        yield ""


def main() -> None:
    kb = load_knowledge_base()
    sys.stdout.write("\n".join(question_lines(kb, load_scenarios(kb))) + "\n")


if __name__ == "__main__":
    main()
