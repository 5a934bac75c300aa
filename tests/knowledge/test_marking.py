"""Marking by question type, driven through `mark(question, answer)` with small questions."""

from typing import Any

import pytest
from pydantic import TypeAdapter

from knowledge.choices import presented_order
from knowledge.loader import KnowledgeBase
from knowledge.marking import Answer, mark
from knowledge.models import AnyQuestion, OrderQuestion, Question

COMMON: dict[str, Any] = {
    "topic": "goods",
    "entries": ["cra-short-term-reject"],
    "criteria": ["POST:P2"],
    "basis": "Consumer Rights Act 2015 s.22",
    "model_answer": "30 days",
    "hint": "Count the days.",
}


def build(**fields: Any) -> AnyQuestion:
    raw = {**COMMON, **fields}
    return TypeAdapter(Question).validate_python(raw, context={"lexicon": {}})


TEXT = build(
    id="t-window",
    type="text",
    prompt="Bought 12 days ago: how long to reject faulty goods?",
    rubric={
        "required": [
            {"id": "thirty", "label": "30 days", "patterns": ["30"]},
            {"id": "refund", "label": "a full refund", "patterns": ["refund", "money back"]},
        ],
        "forbidden": [
            {
                "id": "cooling-off",
                "patterns": ["cooling off"],
                "feedback": "Cooling-off is for online sales.",
            }
        ],
        "figures": {"allowed": ["30 days"], "feedback": "It is 30 days."},
    },
)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("30 days for a full refund", "correct"),
        ("thirty days, money back", "correct"),
        ("they get their money back within a month... no, 30 days", "incorrect"),
        ("30 days", "partial"),
        ("a refund", "partial"),
        ("not 14 days but 30 days, with a refund", "correct"),
        ("14 days for a refund", "incorrect"),
        ("a 30 day cooling off period with a refund", "incorrect"),
        ("12 days ago they bought it so 30 days and a refund", "correct"),
        ("", "incorrect"),
        ("no idea", "incorrect"),
    ],
    ids=str,
)
def test_text_answers_follow_the_verdict_rules(answer: str, outcome: str) -> None:
    assert mark(TEXT, answer).outcome == outcome


def test_verdict_lists_found_missing_and_misconceptions() -> None:
    partial = mark(TEXT, "30 days")
    assert partial.found == ("30 days",)
    assert partial.missing == ("a full refund",)
    assert partial.score == 0.5
    assert "Consumer Rights Act 2015 s.22" in partial.feedback

    wrong = mark(TEXT, "14 days and a refund, it's the cooling off period")
    assert wrong.outcome == "incorrect"
    assert wrong.score == 0.0
    assert set(wrong.misconceptions) == {"cooling-off", "wrong-figure"}
    assert "Cooling-off is for online sales." in wrong.feedback
    assert wrong.refs == ("Consumer Rights Act 2015 s.22", "cra-short-term-reject")


GROUPED = build(
    id="t-group",
    type="text",
    prompt="Give two exceptions.",
    rubric={
        "groups": [
            {
                "id": "two",
                "label": "two exceptions",
                "need": 2,
                "concepts": [
                    {"id": "food", "label": "perishable goods", "patterns": ["food", "flowers"]},
                    {"id": "custom", "label": "personalised goods", "patterns": ["personalis*"]},
                    {"id": "paper", "label": "newspapers", "patterns": ["newspaper"]},
                ],
            }
        ]
    },
)


@pytest.mark.parametrize(
    ("answer", "outcome", "score"),
    [
        ("fresh food and a personalised mug", "correct", 1.0),
        ("food, flowers", "partial", 0.5),
        ("personalized things, newspapers and food", "correct", 1.0),
        ("shoes", "incorrect", 0.0),
    ],
)
def test_any_n_of_groups(answer: str, outcome: str, score: float) -> None:
    verdict = mark(GROUPED, answer)
    assert (verdict.outcome, verdict.score) == (outcome, score)


ORDERED_TEXT = build(
    id="t-steps",
    type="text",
    prompt="The complaint stages in order?",
    rubric={
        "required": [
            {"id": "ack", "label": "acknowledge", "patterns": ["acknowledg*"]},
            {"id": "inv", "label": "investigate", "patterns": ["investigat*"]},
            {"id": "res", "label": "resolve", "patterns": ["resolv*"]},
        ],
        "order": ["ack", "inv", "res"],
    },
)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("acknowledge, investigate, resolve", "correct"),
        ("first acknowledge it, then investigation, then resolving", "correct"),
        ("investigate, acknowledge, resolve", "incorrect"),
        ("acknowledge then resolve", "partial"),
        ("resolve then acknowledge", "incorrect"),
    ],
)
def test_order_of_steps_in_free_text(answer: str, outcome: str) -> None:
    assert mark(ORDERED_TEXT, answer).outcome == outcome


SINGLE = build(
    id="c-single",
    type="single",
    prompt="How long is the short-term right to reject?",
    explanation="CRA 2015 s.22: 30 days.",
    options=[
        {"text": "14 days", "explanation": "That is the online cooling-off period."},
        {"text": "30 days", "correct": True},
        {"text": "6 months", "explanation": "That is the burden-of-proof period."},
    ],
)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (1, "correct"),
        ("B", "correct"),
        ("b)", "correct"),
        ("2", "correct"),
        ("30 days", "correct"),
        ("thirty days", "correct"),  # numbers in words name the option too
        (0, "incorrect"),
        ("A", "incorrect"),
        ("6 months", "incorrect"),
        (7, "incorrect"),
        ("", "incorrect"),
    ],
    ids=str,
)
def test_single_choice(answer: Answer, outcome: str) -> None:
    assert mark(SINGLE, answer).outcome == outcome


def test_wrong_choice_explains_why() -> None:
    verdict = mark(SINGLE, 0)
    assert "online cooling-off" in verdict.feedback


MULTIPLE = build(
    id="c-multiple",
    type="multiple",
    prompt="Which goods cannot be cancelled online?",
    explanation="CCR 2013 reg. 28.",
    options=[
        {"text": "Personalised goods", "correct": True},
        {"text": "Fresh flowers", "correct": True},
        {"text": "Shoes", "explanation": "Shoes can be cancelled."},
    ],
)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ([0, 1], "correct"),
        ("A, B", "correct"),
        ("personalised goods and fresh flowers", "correct"),
        ([1], "partial"),
        ([0, 1, 2], "incorrect"),
        ("C", "incorrect"),
    ],
    ids=str,
)
def test_multiple_choice(answer: Answer, outcome: str) -> None:
    assert mark(MULTIPLE, answer).outcome == outcome


def test_partial_feedback_names_what_was_found_and_what_is_missing() -> None:
    # Labels are written in any grammar ("30 days", "record it"): the feedback lists them.
    verdict = mark(TEXT, "30 days")
    assert verdict.outcome == "partial"
    assert verdict.feedback.startswith(
        "Partly right. You got: 30 days. Still missing: a full refund."
    )


ORDER = build(
    id="o-stages",
    type="order",
    prompt="Put the stages in order.",
    items=["Acknowledge", "Investigate", "Resolve", "Follow up"],
)


def test_presented_order_is_a_fixed_shuffle() -> None:
    assert isinstance(ORDER, OrderQuestion)
    shown = presented_order(ORDER)
    assert sorted(shown) == [0, 1, 2, 3]
    assert shown != (0, 1, 2, 3)
    assert presented_order(ORDER) == shown


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("acknowledge, investigate, resolve, follow up", "correct"),
        ("Acknowledge -> Investigate -> Resolve -> Follow up", "correct"),
        ("acknowledge, investigate", "partial"),
        ("investigate, acknowledge, resolve, follow up", "incorrect"),
        ("", "incorrect"),
    ],
)
def test_order_questions(answer: str, outcome: str) -> None:
    assert mark(ORDER, answer).outcome == outcome


def test_order_by_shown_numbers() -> None:
    assert isinstance(ORDER, OrderQuestion)
    shown = presented_order(ORDER)
    numbers = ", ".join(str(shown.index(item) + 1) for item in range(4))
    assert mark(ORDER, numbers).outcome == "correct"


S75 = build(
    id="n-s75",
    type="numeric",
    prompt="Section 75 covers an item costing more than how many pounds?",
    answer="100",
    model_answer="More than £100 (and not more than £30,000).",
    wrong_feedback="Over £100 and up to £30,000 (CCA 1974 s.75(3)).",
)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("over £100 and up to £30,000", "correct"),
        ("up to £30,000, over £100", "correct"),
        ("£100 or £30,000", "incorrect"),
        ("over £100 and up to £50,000", "incorrect"),
        ("£30,000", "incorrect"),
    ],
)
def test_a_second_figure_the_model_answer_gives_is_a_true_extra(answer: str, outcome: str) -> None:
    assert mark(S75, answer).outcome == outcome


LOGGING = build(
    id="o-sar",
    type="order",
    prompt="Handle a subject access request.",
    items=["Recognise it", "Log it", "Confirm identity", "Search", "Send"],
    either_order=[[2, 3]],
)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("recognise, log, confirm identity, search, send", "correct"),
        ("recognise, confirm identity, log, search, send", "correct"),
        ("log, recognise, confirm identity, search, send", "incorrect"),
        ("recognise, log, search, confirm identity, send", "incorrect"),
    ],
)
def test_steps_good_practice_allows_in_either_order(answer: str, outcome: str) -> None:
    assert mark(LOGGING, answer).outcome == outcome


@pytest.mark.parametrize(
    ("runs", "problem"),
    [
        ([[2]], "two or more neighbouring steps"),
        ([[2, 4]], "two or more neighbouring steps"),
        ([[4, 5, 6]], "steps are 1 to 5"),
        ([[1, 2], [2, 3]], "a step is in two runs"),
    ],
)
def test_either_order_runs_are_checked_at_load(runs: list[list[int]], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build(
            id="o-bad",
            type="order",
            prompt="Order them.",
            items=["One", "Two", "Three", "Four", "Five"],
            either_order=runs,
        )


NUMERIC = build(
    id="n-refund",
    type="numeric",
    prompt="Within how many days must the refund be paid?",
    answer="14 days",
    wrong_feedback="It is 14 days (CRA 2015 s.20(15)).",
)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("14 days", "correct"),
        ("fourteen", "correct"),
        ("two weeks", "correct"),
        ("a fortnight", "correct"),
        ("14", "correct"),
        ("not 30 days, 14 days", "correct"),
        ("30 days", "incorrect"),
        ("14 months", "incorrect"),
        ("14 days or 30 days", "incorrect"),
        ("soon", "incorrect"),
    ],
)
def test_numeric_answers_accept_equivalent_forms(answer: str, outcome: str) -> None:
    assert mark(NUMERIC, answer).outcome == outcome


def test_marking_is_pure() -> None:
    first = mark(TEXT, "30 days and a refund")
    assert mark(TEXT, "30 days and a refund") == first


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("it's 14 days", "correct"),
        ("s.20 says 14 days", "correct"),
        ("under s.75 it's 14", "correct"),
    ],
)
def test_numeric_answers_with_contractions_and_citations(answer: str, outcome: str) -> None:
    assert mark(NUMERIC, answer).outcome == outcome


@pytest.mark.parametrize(
    ("question_id", "answer", "outcome"),
    [
        # A condition after an opening "No" is still a condition; a negated one is not.
        ("cra-deduction-for-use", "No deduction unless they've lost the receipt", "incorrect"),
        ("cra-deduction-for-use", "No, not unless it's a car", "correct"),
        # An invented item in a "name the three" list is wrong, not just incomplete.
        (
            "cra-goods-standards",
            "satisfactory quality, fit for purpose and a receipt",
            "incorrect",
        ),
        ("cra-goods-standards", "satisfactory quality and fit for purpose", "partial"),
        # A bare "sealed" is not "still sealed".
        (
            "ccr-cancel-exceptions",
            "made to measure things and sealed cosmetics once the seal is broken",
            "correct",
        ),
        ("ccr-cancel-exceptions", "cosmetics still in their packaging, and flowers", "incorrect"),
        # Whose check? "so they can check them" is no identity check.
        ("gdpr-verify-identity", "read them out so they can check them", "incorrect"),
        ("gdpr-verify-identity", "do the DPA checks first", "correct"),
        # Linking words between remedies are not list items.
        (
            "cra-digital-content",
            "repair or replacement, and if not then a price reduction",
            "partial",
        ),
        # An identifier is not a figure of the law.
        (
            "gdpr-verify-identity",
            "security questions first; only say 'card ending 1234'",
            "correct",
        ),
        # One match across an "or" covers both words: not a stray list item.
        ("refer-when", "if the customer gets aggressive or threatening", "partial"),
        # "not A its B" corrects A; "if that doesnt work" negates the repair, not the refund.
        ("cra-reject-window", "not 14 its 30 days from when u buy it", "correct"),
        ("cra-digital-content", "repair or replace, if that doesnt work money back", "partial"),
        # A cited section outside the rule's own is a wrong fact; the rule's own is fine.
        (
            "cra-goods-standards",
            "Section 75 of the CRA: satisfactory quality, fit for purpose and as described",
            "incorrect",
        ),
        (
            "cra-goods-standards",
            "CRA ss.9-11: satisfactory quality, fit for purpose and as described",
            "correct",
        ),
        # An admitted gap and a comment sentence are not invented list items.
        ("gdpr-principles", "data minimisation. I can't remember the others.", "partial"),
        (
            "cra-goods-standards",
            "Fit for purpose. That's the main one, it has to work.",
            "partial",
        ),
        # "unless" ends a negation: the helper the customer must bring is claimed.
        (
            "equality-adjustments",
            "we can't take it unless they bring their own interpreter",
            "incorrect",
        ),
        # A condition the law has ("unless one is impossible") is not an invented one.
        (
            "cra-after-30-days",
            "repair or replace, whichever they pick, unless one of them is impossible",
            "correct",
        ),
        # The start point is what follows "from": "…after delivery for online orders" is delivery.
        ("ccr-cancel-online", "14 days after delivery for online orders", "correct"),
        ("ccr-cancel-online", "14 days from the day she placed her order", "incorrect"),
        # The shop's own offer is not a figure of the law; the same figure as the law's is.
        (
            "ccr-cancel-online",
            "14 days from delivery. Our returns team gives 28 days but the law is 14.",
            "correct",
        ),
        ("ccr-cancel-online", "28 days from delivery", "incorrect"),
        # How long the goods had been owned in a story is not a period of the law; a limit is.
        (
            "cra-claim-time-limit",
            "I had a fella with a telly he'd had four years, and he could still go to court"
            " cos it's six years in England.",
            "correct",
        ),
        ("cra-claim-time-limit", "They have four years to claim.", "incorrect"),
        ("cra-claim-time-limit", "If they've had it over 4 years they can't claim.", "incorrect"),
        # The law rights come from, named beside the rule, is not named as the rule's source.
        (
            "cra-claim-time-limit",
            "Six years from purchase; the guarantee doesn't cut his rights under the Consumer"
            " Rights Act.",
            "correct",
        ),
        ("cra-claim-time-limit", "6 years under the Consumer Rights Act", "incorrect"),
        ("cra-claim-time-limit", "6 years, his rights under the Sale of Goods Act", "incorrect"),
    ],
    ids=[
        "no-unless",
        "no-not-unless",
        "invented-item",
        "two-of-three",
        "once-unsealed",
        "still-sealed",
        "they-check",
        "dpa-checks",
        "linking-words",
        "identifier",
        "one-item-across-or",
        "not-a-its-b",
        "doesnt-work",
        "wrong-section",
        "own-section",
        "admitted-gap",
        "comment-sentence",
        "unless-ends-negation",
        "known-condition",
        "start-after-from",
        "start-is-the-order",
        "store-policy-figure",
        "policy-figure-as-law",
        "story-time",
        "period-of-law",
        "owned-over-limit",
        "rights-under-a-law",
        "period-under-another-law",
        "rights-under-an-old-law",
    ],
)
def test_shipped_rubrics_on_iqa_lessons(
    kb: KnowledgeBase, question_id: str, answer: str, outcome: str
) -> None:
    assert mark(kb.questions[question_id], answer).outcome == outcome


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("9 or 10 are promoters, so 9", "correct"),
        ("9 or 10", "incorrect"),
        ("8, so 9", "incorrect"),
    ],
)
def test_a_hedge_settled_by_the_answer_is_its_answer(
    kb: KnowledgeBase, answer: str, outcome: str
) -> None:
    assert mark(kb.questions["nps-promoter-score"], answer).outcome == outcome


def test_a_denial_does_not_reach_past_a_new_clause(kb: KnowledgeBase) -> None:
    # "so it's not late yet" is about the refund, not a denial of the 30 days just claimed.
    verdict = mark(
        kb.questions["ccr-refund-timing"],
        "14 days. Refunds can take up to 30 days so it's not late yet.",
    )
    assert "refund-takes-longer" in verdict.misconceptions


@pytest.mark.parametrize(
    ("question_id", "answer", "outcome"),
    [
        ("cra-claim-time-limit", "5 or 6 years I think", "incorrect"),  # a hedge, read as one
        ("cpa-product-liability", "CPA '87", "correct"),  # a law's year written short
        ("cra-change-of-mind", "no legal right, only if our T&Cs offer it", "correct"),
        # the parts of a condition are not list items of their own
        (
            "cra-digital-content",
            "fixed or a new copy, and if that fails or takes too long, some money back, and"
            " compensation if it damaged the phone",
            "correct",
        ),
    ],
)
def test_everyday_forms(kb: KnowledgeBase, question_id: str, answer: str, outcome: str) -> None:
    assert mark(kb.questions[question_id], answer).outcome == outcome


@pytest.mark.parametrize(
    ("question_id", "answer", "outcome"),
    [
        ("cra-refund-deadline", "without undue delay", "partial"),
        ("cra-refund-deadline", "as soon as possible, within 40 days", "incorrect"),
        ("gdpr-breach-72h", "as soon as possible to the ICO", "partial"),
        ("cra-claim-time-limit", "a number of years under the Limitation Act", "partial"),
        ("cra-claim-time-limit", "2 years under the Limitation Act", "incorrect"),
        ("ccr-cancel-online", "they can cancel", "partial"),
        ("ccr-cancel-online", "7 days cooling off", "incorrect"),
    ],
)
def test_the_right_direction_without_the_figure_is_partial(
    kb: KnowledgeBase, question_id: str, answer: str, outcome: str
) -> None:
    assert mark(kb.questions[question_id], answer).outcome == outcome
