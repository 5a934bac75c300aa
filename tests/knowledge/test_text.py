"""Normalisation: learners' spellings, numbers and units compare equal."""

import pytest

from knowledge.text import durations, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thirty days", [(30, "day")]),
        ("30-day right", [(30, "day")]),
        ("30days", [(30, "day")]),
        ("two weeks", [(14, "day")]),
        ("a fortnight", [(14, "day")]),
        ("within a calendar month", [(1, "month")]),
        ("72 hrs", [(72, "hour")]),
        ("72hrs", [(72, "hour")]),
        ("within seventy-two hours", [(72, "hour")]),
        ("a month", [(1, "month")]),
        ("one month", [(1, "month")]),
        ("six-month presumption", [(6, "month")]),
        ("half a year", [(6, "month")]),
        ("2 further months", [(2, "month")]),
        ("14 working days", [(14, "working day")]),
        ("no later than 72 hours", [(72, "hour")]),
        ("thrity days", [(30, "day")]),
        ("sixyears", [(72, "month")]),
        ("Six yeras", [(72, "month")]),
        ("six yrs", [(72, "month")]),
        ("72 months", [(72, "month")]),
        ("a year", [(12, "month")]),
        ("a decade", [(120, "month")]),
        ("no numbers here", []),
        ("room 30, then days later", []),
    ],
    ids=str,
)
def test_durations_are_read_in_any_form(text: str, expected: list[tuple[int, str]]) -> None:
    assert [d.key for d in durations(tokenize(text))] == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("apologize", "apologise"),
        ("organization", "organisation"),
        ("canceled", "cancelled"),
        ("practise", "practice"),
        ("refunded", "refunds"),
        ("can't", "can not"),
        ("cannot", "can not"),
        ("doesn't", "does not"),
        ("won't", "will not"),
        ("e-mail", "email"),
        ("follow-up", "follow up"),
        ("RETAILER", "retailer"),
        # Chat shorthand without the apostrophe.
        ("im sorry", "i am sorry"),
        ("ive logged it", "i have logged it"),
        ("youll get it", "you will get it"),
        ("ill get it sorted", "i will get it sorted"),
        ("£17.5m", "£17.5 million"),
        ("£30k", "£30,000"),
        # A remedy failing, however it is said.
        ("if the new one went wrong", "if the new one fails"),
        ("if it breaks again", "if it fails"),
        ("if the new one also went wrong", "if the new one fails"),
        ("if the repair didn't put things right", "if the repair fails"),
    ],
)
def test_equivalent_spellings_give_equal_tokens(first: str, second: str) -> None:
    assert tokenize(first).stems == tokenize(second).stems


def test_punctuation_is_kept_as_breaks() -> None:
    tokens = tokenize("No, no deduction. Never!")
    assert tokens.stems == ("no", "no", "deduct", "never")
    assert tokens.breaks == (0, 1, 0, 2)


def test_a_line_break_or_bar_ends_a_field_of_a_note() -> None:
    # "can't be fixed" must not negate the action in the next field of a CRM note.
    tokens = tokenize("gap can't be fixed | £400 off\nFU Mon")
    assert tokens.words == ("gap", "can", "not", "be", "fixed", "£", "400", "off", "fu", "mon")
    assert tokens.breaks == (0, 0, 0, 0, 0, 2, 0, 0, 2, 0)


def test_ill_is_i_will_only_before_a_verb() -> None:
    assert tokenize("ill check").words == ("i", "will", "check")
    assert tokenize("he was ill last week").words[:3] == ("he", "was", "ill")


def test_e_g_and_i_e_do_not_end_a_sentence() -> None:
    tokens = tokenize("written communication, e.g. type it out")
    assert tokens.words == ("written", "communication", "eg", "type", "it", "out")
    assert tokens.breaks[3] == 0
