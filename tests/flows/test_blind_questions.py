"""The rubric-free dump blind answer writers work from shows what a learner sees, nothing more."""

from flows.loader import ScenarioContent
from flows.questions import all_askables
from knowledge.choices import read_choice
from knowledge.loader import KnowledgeBase
from knowledge.marking import mark
from knowledge.models import ChoiceQuestion, OrderQuestion, TextQuestion
from tests.blind_questions import question_lines


def test_the_dump_holds_every_question_and_no_marking_text(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    dump = "\n".join(question_lines(kb, shipped))
    askables = list(all_askables(kb, shipped))
    assert dump.count("\n## ") == len(askables)
    for askable in askables:
        question = askable.question
        assert question.model_answer not in dump, askable.id
        if isinstance(question, ChoiceQuestion):
            assert all(
                option.explanation is None or option.explanation not in dump
                for option in question.options
            ), askable.id
        if isinstance(question, TextQuestion):
            long_examples = [e.answer for e in question.examples if len(e.answer) > 60]
            assert all(answer not in dump for answer in long_examples), askable.id


def test_order_items_are_numbered_as_the_learner_sees_them(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    dump = list(question_lines(kb, shipped))
    question = kb.question("cra-remedy-sequence")
    assert isinstance(question, OrderQuestion)
    at = dump.index("## cra-remedy-sequence")
    items = [line for line in dump[at:] if line.startswith("  ")][: len(question.items)]
    shown = [line.split(". ", 1)[1] for line in items]
    numbers = " ".join(str(shown.index(item) + 1) for item in question.items)
    assert read_choice(question, numbers).problem is None
    assert mark(question, numbers).outcome == "correct"


def test_a_step_shows_the_customers_line_and_task_as_the_learner_reads_them(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    dump = list(question_lines(kb, shipped))
    assert not any("{" in line for line in dump)  # every {placeholder} filled from the case
    at = dump.index("## angry-repeat-complaint/refer_how")
    section = dump[at : dump.index("", at)]
    customer = "> I'm not explaining all this again to someone else, I'm warning you."
    assert section[3] == customer
    assert (
        "prompt: The duty manager, Sam Price, is free to take the call. How do you refer it?"
        in (section)
    )
    # The case's raw fact values are not lines of their own (the learner never sees them so).
    assert "> Sam Price" not in section
