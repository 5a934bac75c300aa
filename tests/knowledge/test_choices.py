"""Typed replies to choice and order questions, read as the learner meant them."""

from typing import Any

import pytest

from knowledge.choices import presented_order, read_choice
from knowledge.models import ChoiceQuestion, OrderQuestion

COMMON = {
    "topic": "goods",
    "entries": ["cra-short-term-reject"],
    "criteria": ["POST:P2"],
    "basis": "Consumer Rights Act 2015 s.22",
    "model_answer": "B",
    "hint": "When?",
}


def single(
    question_id: str, prompt: str, explanation: str, options: list[dict[str, Any]]
) -> ChoiceQuestion:
    """A single-choice question for these tests; only what the reader looks at varies."""
    return ChoiceQuestion.model_validate(
        {
            **COMMON,
            "id": question_id,
            "type": "single",
            "prompt": prompt,
            "explanation": explanation,
            "options": options,
        }
    )


def order(question_id: str, prompt: str, items: list[str]) -> OrderQuestion:
    """An order question for these tests."""
    return OrderQuestion.model_validate(
        {**COMMON, "id": question_id, "type": "order", "prompt": prompt, "items": items}
    )


SINGLE = single(
    "check-first",
    "What do you check first?",
    "The date decides the remedy.",
    [
        {"text": "Whether the box is undamaged", "explanation": "Boxes don't matter."},
        {"text": "When he bought it, from the receipt or a bank statement", "correct": True},
        {"text": "Whether he registered the guarantee", "explanation": "It's extra."},
        {"text": "Whether he contacted the manufacturer", "explanation": "Wrong party."},
    ],
)
MULTIPLE = SINGLE.model_copy(update={"type": "multiple", "id": "several"})
ORDER = order(
    "stages", "Put the stages in order.", ["Acknowledge", "Investigate", "Resolve", "Follow up"]
)


@pytest.mark.parametrize(
    ("reply", "picked"),
    [
        ("B", (1,)),
        ("b", (1,)),
        ("2", (1,)),
        ("option b", (1,)),
        ("Option B.", (1,)),
        ("I think B", (1,)),
        ("I'd say b", (1,)),
        ("its b", (1,)),
        ("it's B", (1,)),
        ("b)", (1,)),
        ("(b)", (1,)),
        ("B - the receipt", (1,)),
        ("A, because the box matters", (0,)),
        ("I'd go with the guarantee one, c", (2,)),
        ("when he bought it", (1,)),
        ("I'd check the date he bought it on the receipt", (1,)),
        ("whether he contacted the manufacturer", (3,)),
    ],
    ids=str,
)
def test_single_choice_typed_in_any_way(reply: str, picked: tuple[int, ...]) -> None:
    assert read_choice(SINGLE, reply).picked == picked


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("e", "There is no option E; reply A–D."),
        ("option 7", "There is no option 7; reply A–D."),
        ("the weather", "I couldn't match that to an option: reply A–D (or the option's words)."),
        ("a and b", "Please pick one option (A–D)."),
    ],
    ids=str,
)
def test_replies_that_name_no_single_option_say_why(reply: str, problem: str) -> None:
    reading = read_choice(SINGLE, reply)
    assert reading.picked == ()
    assert reading.problem == problem


@pytest.mark.parametrize(
    ("reply", "picked"),
    [
        ("a c", (0, 2)),
        ("a, c and d", (0, 2, 3)),
        ("A C E", None),
        ("b+d", (1, 3)),
        ("all of them", (0, 1, 2, 3)),
        ("All of the above.", (0, 1, 2, 3)),
    ],
    ids=str,
)
def test_multiple_choice_letters_with_any_separators(
    reply: str, picked: tuple[int, ...] | None
) -> None:
    reading = read_choice(MULTIPLE, reply)
    if picked is None:
        assert reading.problem == "There is no option E; reply A–D."
    else:
        assert reading.picked == picked


def test_orders_by_numbers_with_any_separators_or_by_words() -> None:
    shown = presented_order(ORDER)
    right = [shown.index(i) + 1 for i in range(4)]
    for separator in (" ", "-", ", ", ",", " > "):
        reply = separator.join(str(n) for n in right)
        assert read_choice(ORDER, reply).picked == tuple(n - 1 for n in right), reply
    assert read_choice(ORDER, "".join(str(n) for n in right)).picked == tuple(n - 1 for n in right)
    words = read_choice(ORDER, "acknowledge, investigate, resolve then follow up")
    assert [shown[i] for i in words.picked] == [0, 1, 2, 3]
    assert read_choice(ORDER, "5 1 2 3").problem == "There is no item 5; reply 1–4."


RESET = order(
    "reset-steps",
    "Put the password reset steps in order.",
    [
        "Open the shop's app and tap 'Forgotten password'",
        "Type in the email address the account uses",
        "Open the email we send you and tap the link in it",
        "Choose a new password and log in with it",
    ],
)


def test_an_order_in_words_with_and_inside_its_items() -> None:
    """ "and" joins the words of one item here; the one piece naming no item alone ("put in
    her email", beside two items with an email) is the item left over."""
    shown = presented_order(RESET)
    reading = read_choice(
        RESET,
        "open the app and tap forgotten password, then put in her email, then open the email"
        " and tap the link, then pick a new password",
    )
    assert [shown[i] for i in reading.picked] == [0, 1, 2, 3]


POLICY = single(
    "adjustment-cost",
    "Can the shop charge a Deaf customer for the interpreter it books?",
    "Equality Act 2010 s.20(7).",
    [
        {"text": "Yes, at cost price", "explanation": "No."},
        {"text": "No: the cost of an adjustment can't be passed on", "correct": True},
        {
            "text": "Yes, if the interpreter is needed for more than an hour",
            "explanation": "No.",
        },
        {
            "text": "Lock the screen, then call the Digital Markets Unit on £3.95 a minute",
            "explanation": "Made up for the test.",
        },
    ],
)


@pytest.mark.parametrize(
    ("reply", "picked"),
    [
        ("no, we cant make them pay for it", (1,)),  # the one option that begins "No"
        ("lock it", (3,)),  # a word no other option has
        ("£3.95", (3,)),
        ("the dmu one", (3,)),  # initials of Digital Markets Unit
        ("A cost price", (0,)),  # "A" followed by option A's words
        ("a at cost", (0,)),  # "A" and a phrase only option A has
        ("the interpreter for over an hour one", (2,)),
        # A negation in the reason given is not a negated pick.
        ("lock the screen so it is not left open", (3,)),
    ],
    ids=str,
)
def test_options_named_by_words_that_tell_them_apart(reply: str, picked: tuple[int, ...]) -> None:
    assert read_choice(POLICY, reply).picked == picked


@pytest.mark.parametrize(
    "reply",
    [
        "whatever the manager says",  # defers, names nothing
        "not the cost price one",  # a negated option is not a pick
        "a refund",  # "a" is the article here: A's words are not in it
        "yes",  # two options begin "Yes"
    ],
    ids=str,
)
def test_replies_that_only_touch_an_option_are_asked_again(reply: str) -> None:
    reading = read_choice(POLICY, reply)
    assert reading.picked == ()
    assert reading.problem is not None


def test_an_order_named_by_one_word_of_each_item() -> None:
    shown = presented_order(ORDER)
    words = read_choice(ORDER, "acknowledge, investigate, resolve, follow")
    assert [shown[i] for i in words.picked] == [0, 1, 2, 3]


FINES = single(
    "fines",
    "What is the highest fine?",
    "Two figures; the higher applies.",
    [
        {"text": "£500,000", "explanation": "The old cap."},
        {"text": "£17.5 million or 4% of worldwide turnover", "correct": True},
        {"text": "£8.7 million or 2% of worldwide turnover", "explanation": "The lower band."},
    ],
)


@pytest.mark.parametrize(
    ("reply", "picked"),
    [
        ("£17.5m or 4% of turnover", (1,)),
        ("the 4% one", (1,)),
        ("17.5m", (1,)),
        ("500k", (0,)),  # sums written short are read in full
        ("£20 million or 4%", ()),  # another figure for what the option counts: ask again
        ("£20 million or 4% of worldwide turnover", ()),
    ],
)
def test_a_reply_giving_another_figure_names_no_option(
    reply: str, picked: tuple[int, ...]
) -> None:
    reading = read_choice(FINES, reply)
    assert reading.picked == picked
    assert (reading.problem is None) == bool(picked)


@pytest.mark.parametrize(("reply", "picked"), [("acd", (0, 2, 3)), ("CA", (2, 0))])
def test_multiple_choice_letters_typed_together(reply: str, picked: tuple[int, ...]) -> None:
    assert read_choice(MULTIPLE, reply).picked == picked


def test_a_run_of_letters_beyond_the_options_or_repeated_is_not_read() -> None:
    assert read_choice(MULTIPLE, "aa").picked == ()
    assert read_choice(MULTIPLE, "abz").picked == ()


REFER = single(
    "refer-how",
    "The duty manager is free. How do you refer the call?",
    "Brief first, so he needn't repeat himself.",
    [
        {"text": "Transfer him to the manager's line without a word", "explanation": "Cold."},
        {"text": "Brief the duty manager first, then put him through", "correct": True},
        {"text": "Give him the manager's personal mobile", "explanation": "Never."},
        {"text": "Tell him to write to head office", "explanation": "Fobbing off."},
    ],
)


@pytest.mark.parametrize(
    "reply", ["brief the manager then put him through", "put him through after briefing him"]
)
def test_both_steps_name_the_two_step_option(reply: str) -> None:
    assert read_choice(REFER, reply).picked == (1,)


@pytest.mark.parametrize("reply", ["Just put him through to Sam", "only put him through"])
def test_the_second_step_alone_names_no_option(reply: str) -> None:
    # Doing only the second step of a two-step option is another way to act.
    reading = read_choice(REFER, reply)
    assert reading.picked == ()
    assert reading.problem is not None
