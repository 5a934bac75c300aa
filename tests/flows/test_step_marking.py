"""Scenario steps marked like bank questions, through the chat: typed choices, the case's facts
and the review flag."""

import pytest

from flows.engine import Coach
from flows.loader import ScenarioContent
from flows.questions import find_askable
from knowledge.loader import KnowledgeBase
from knowledge.marking import mark
from storage.memory import MemoryProgressStore
from tests.flows.chat import Chat
from tests.flows.steps import mark_at

EMPATHY = (
    "I'm so sorry Mr Foster, I can see how frustrating that is. Let me sort this out for you."
)


async def kettle_at_investigate(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> tuple[Chat, MemoryProgressStore]:
    store = MemoryProgressStore()
    chat = Chat(Coach(kb, shipped, store))
    await chat.send("/scenarios")
    await chat.click("Faulty kettle brought back to the shop")
    await chat.send(EMPATHY)
    assert "what do you check first?" in chat.text
    return chat, store


async def test_a_choice_answered_in_words_counts_and_branches(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    chat, store = await kettle_at_investigate(kb, shipped)
    await chat.send("I'd check when he bought it, from the receipt")
    assert "✅ Correct." in chat.text
    assert "12 days" in chat.text  # the branch for a kettle bought within 30 days
    answers = await store.answers(7)
    assert [a.outcome for a in answers] == ["correct", "correct"]


async def test_a_letter_that_is_no_option_is_asked_again_without_a_try(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    chat, store = await kettle_at_investigate(kb, shipped)
    await chat.send("e")
    assert chat.text == "🤔 There is no option E; reply A–D."
    assert chat.button_labels == ["A", "B", "C", "D"]
    await chat.send("the weather")
    assert "couldn't match that to an option" in chat.text
    assert len(await store.answers(7)) == 1  # only the first step's answer
    await chat.send("I think D")
    assert "💡 Hint:" in chat.text
    assert "Try again (2 tries left)" in chat.text  # the two re-asks used no try
    await chat.send("option b")
    assert "✅ Correct." in chat.text


async def kettle_at_reply(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> tuple[Chat, MemoryProgressStore]:
    chat, store = await kettle_at_investigate(kb, shipped)
    await chat.send("B")
    await chat.send("30 days, the short-term right to reject")
    await chat.send("Back to his debit card, and no fee can be charged")
    assert "Write your reply to Dean Foster" in chat.text
    return chat, store


async def test_wrong_law_told_to_the_customer_is_wrong_in_a_good_reply(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    chat, store = await kettle_at_reply(kb, shipped)
    await chat.send(
        "I'm sorry for the hassle Mr Foster. You're within 30 days so you're entitled to a full"
        " refund; I'll process it now, it can take up to 30 days to reach your card."
    )
    assert "❌" in chat.text
    assert "within 14 days" in chat.text  # the shared claim's feedback cites s.20(15)
    assert (await store.answers(7))[-1].outcome == "incorrect"


async def test_an_answer_with_something_unrecognised_is_flagged_and_the_learner_moves_on(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    chat, store = await kettle_at_reply(kb, shipped)
    await chat.send(
        "So sorry about this Mr Foster. You're within 30 days so you're entitled to a full"
        " refund. I'll put it back on your debit card now, and you get half off your next kettle."
    )
    assert "flagged this answer for your tutor" in chat.text
    assert "how long before I actually see the money" in chat.text  # the next step
    last = (await store.answers(7))[-1]
    assert last.review is True
    assert last.outcome == "partial"
    assert any("half off your next kettle" in text for text in last.unrecognised)


def test_a_brief_that_gives_the_cases_own_details_passes_them_on(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    step = find_askable(kb, shipped, "angry-repeat-complaint/refer_info")
    brief = (
        "Sam, Gary Mitchell on hold, ref CMP-9021: fridge not cooling, two no-shows, he wants £200"
    )
    assert mark(step.question, brief, step.case).outcome == "correct"
    # Without the case, a name and a reference are just words.
    assert mark(step.question, "Gary Mitchell, CMP-9021").outcome == "incorrect"


def test_time_that_has_passed_in_the_case_is_not_a_figure_of_the_law(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    step = find_askable(kb, shipped, "late-refund-complaint/reply")
    reply = (
        "I understand, and I'm sorry we've let you down - your refund should have been made over"
        " a week ago. I've just refunded the full £189 plus the £4.99 delivery charge to your"
        " card. I'll call you on Friday to check it has arrived."
    )
    assert mark(step.question, reply, step.case).outcome == "correct"
    late = reply.replace("over a week ago", "within 60 days")
    assert mark(step.question, late, step.case).outcome == "incorrect"


def test_a_usual_turnaround_is_not_a_figure_of_the_law_but_a_usual_refund_delay_is_wrong(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    repair = (
        "You were right, Mr Shah: the report shows the battery was faulty. You can choose a free"
        " repair or a replacement; a repair is usually 3-5 working days. I'll book it today."
    )
    assert mark_at(kb, shipped, "laptop-fault-after-six-months/reply", repair).outcome == (
        "correct"
    )
    refund = (
        "I'm so sorry Mr Bradley. I've put the £193.99 refund through to your card today; it"
        " usually takes 30 days to show. I'll call you on Friday to check it has arrived."
    )
    verdict = mark_at(kb, shipped, "late-refund-complaint/reply", refund)
    assert "refund-takes-longer" in verdict.misconceptions


def test_the_shops_own_return_of_old_stock_is_not_sending_the_customer_away(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    note = (
        "Dean Foster, RET-1042, kettle not heating at 45 days. Action: new kettle given as a"
        " replacement, old one returned to supplier. Follow-up: text him on 19/12."
    )
    verdict = mark_at(kb, shipped, "faulty-kettle-refund/record_repair", note)
    assert "manufacturer-responsible" not in verdict.misconceptions


def test_a_window_said_to_have_passed_is_not_offered(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    step = find_askable(kb, shipped, "laptop-fault-after-six-months/remedy")
    passed = "The 30-day right to reject has passed, so a free repair or replacement, his choice."
    assert mark(step.question, passed, step.case).outcome == "correct"
    offered = "He can use the 30-day right to reject, or a free repair or replacement."
    assert mark(step.question, offered, step.case).outcome == "incorrect"


def test_a_step_is_marked_against_the_version_of_the_case_that_reaches_it(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    # Only the customer who bought the kettle 45 days ago is offered a repair.
    step = find_askable(kb, shipped, "faulty-kettle-refund/reply_repair")
    assert step.case is not None
    assert step.case.days_since == 45
    assert mark(step.question, step.question.model_answer, step.case).outcome == "correct"


def test_what_the_case_excludes_is_wrong_to_promise(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    shoes = find_askable(kb, shipped, "online-shoes-cancellation/acknowledge")
    both = "Dear Ms Hassan, thank you for your email. I confirm both items are cancelled."
    assert "cancel-both" in mark(shoes.question, both, shoes.case).misconceptions
    refund = find_askable(kb, shipped, "late-refund-complaint/reply")
    short = "Sorry again. I've refunded the £189 today and I'll call you on Friday to check."
    assert "price-only" in mark(refund.question, short, refund.case).misconceptions
    full = short.replace("the £189", "the £189 and the £4.99 delivery")
    assert mark(refund.question, full, refund.case).outcome == "correct"


def test_a_rubric_item_of_the_same_name_does_not_hide_the_shared_patterns(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    # The kitchen's first reply has its own "dismissive" item; the shared one's patterns
    # ("sorry you feel that way") still count, reported once under the rubric's feedback.
    step = find_askable(kb, shipped, "poor-kitchen-fitting/acknowledge")
    verdict = mark(step.question, "I'm sorry you feel that way. I'll look into it.", step.case)
    assert verdict.misconceptions.count("dismissive") == 1
    assert verdict.outcome == "incorrect"


def test_a_figure_another_step_of_the_case_teaches_may_be_repeated(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    step = find_askable(kb, shipped, "laptop-fault-after-six-months/record")
    record = (
        "Rohan Shah RET-3319, battery fault from manufacture. Replacement ordered under CRA s.23;"
        " 6-year limitation explained. Follow-up: call on Friday."
    )
    assert mark(step.question, record, step.case).outcome == "correct"
    # The same figure about something else is still a wrong figure.
    wrong = record.replace("6-year limitation explained", "6 days to reject explained")
    assert mark(step.question, wrong, step.case).outcome == "incorrect"


@pytest.mark.parametrize(
    ("where", "reply", "claim"),
    [
        (
            "washing-machine-repair/acknowledge",
            "I'm really sorry. Just so you know, you'll need to prove it wasn't your fault first.",
            "customer-proves-within-six-months",
        ),
        (
            "subject-access-erasure/record",
            "J Turner DPR-3307 - data deleted on call. No f/u.",
            "deleted-on-the-call",
        ),
        (
            "online-shoes-cancellation/acknowledge",
            "Cancellations must be made on our returns form, an email isn't valid.",
            "cancel-form-required",
        ),
        (
            "faulty-kettle-refund/resolve_refund",
            "Full refund within 30 days, but because you've used it I'll have to take a bit off",
            "deduction-for-use-early",
        ),
        (
            "late-refund-complaint/acknowledge",
            "I'm so sorry. Just so you know, we've got 30 days to refund once we get it back.",
            "refund-takes-longer",
        ),
        (
            "faulty-kettle-refund/record_repair@bought-45-days-ago",
            "Foster RET-1042 kettle not boiling 45d. Sent for repair (shop choice). F/U 2 wks",
            "trader-chooses-remedy",
        ),
        (
            "caller-account-details/acknowledge",
            "Hi Dorothy, of course, let me just find the account and I'll read it out for you",
            "read-out-data",
        ),
        (
            "faulty-game-download/acknowledge",
            "Sorry, once an app is downloaded we can't do anything, you'd need the game maker.",
            "manufacturer-responsible",
        ),
        (
            "poor-kitchen-fitting/record",
            "Carter SVC-7702 - told her signing job sheet means fitting accepted. Closed.",
            "blame-customer",
        ),
        (
            "washing-machine-repair/reply_repair",
            "Repair booked. You have to let us try three repairs before anything else.",
            "several-repair-attempts",
        ),
        (
            "jumper-change-of-mind/acknowledge",
            "The law only gives refunds if you've still got the original carrier bag.",
            "packaging-required-by-law",
        ),
        (
            "caller-account-details/record",
            "D Pearce ACC-5521 locked out, pw reset. Card 4929 1234 5678 9012 confirmed.",
            "full-card-number",
        ),
        (
            "laptop-fault-after-six-months/acknowledge",
            "I'm sorry. The burden of proof rests with the retailer for the first twelve months.",
            "presumption-too-long",
        ),
        (
            "angry-repeat-complaint/reply",
            "Sam Price will call you. Under the law compensation for food is capped at £50.",
            "invented-cap",
        ),
        (
            "late-refund-complaint/acknowledge",
            "I'm sorry. If you don't leave us a bad review, I can add a £20 voucher.",
            "incentivised-review",
        ),
        (
            "poor-kitchen-fitting/acknowledge",
            "Sorry to hear that, but you did sign the fitter's sheet to say you were happy.",
            "signed-away-rights",
        ),
        (
            "angry-repeat-complaint/reply",
            "You're going to Sam Price. I've told Sam you want £200 and I'm sure you'll get it.",
            "promise-money-beyond-authority",
        ),
        (
            "angry-repeat-complaint/acknowledge",
            "I understand you're frustrated Mr Mitchell but there's no need to threaten court.",
            "discourage-legal-route",
        ),
        (
            "faulty-kettle-refund/reply_repair@bought-45-days-ago",
            "Sorry but you're past 30 days so all we can do is send it off for repair.",
            "law-allows-only-one-remedy",
        ),
        (
            "deaf-customer-adjustments/acknowledge",
            "Sorry about that. You should email the complaints team, they'll deal with it.",
            "sent-elsewhere",
        ),
        # "we can .. repair" is the step's next action, but "choose whether" lies in its gap.
        (
            "laptop-fault-after-six-months/reply",
            "Thanks for your patience. Legally we can choose whether to repair or replace.",
            "trader-chooses-remedy",
        ),
    ],
    ids=lambda value: value if "/" in value else "",
)
def test_wrong_law_in_a_role_play_reply_is_named(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], where: str, reply: str, claim: str
) -> None:
    """Shared claims checked in scenario steps against the case (STEP@VARIANT names a version)."""
    verdict = mark_at(kb, shipped, where, reply)
    assert verdict.outcome == "incorrect"
    assert claim in verdict.misconceptions


def test_knowing_that_a_signature_does_not_waive_rights_is_not_caught(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    reply = "I'm so sorry. Even though you signed the job sheet, that doesn't affect your rights."
    assert (
        "signed-away-rights"
        not in mark_at(kb, shipped, "poor-kitchen-fitting/acknowledge", reply).misconceptions
    )


@pytest.mark.parametrize(
    "note", ["card ending 9012 confirmed", "call back on 07700 900123", "ref 0044 7700 900 123"]
)
def test_the_last_four_digits_and_phone_numbers_are_not_a_card_number(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], note: str
) -> None:
    assert (
        "full-card-number"
        not in mark_at(kb, shipped, "caller-account-details/record", note).misconceptions
    )


def test_a_call_through_text_relay_is_still_a_phone_call_he_asked_not_to_get(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    reply = (
        "I'm sorry about the helpline. You'll get a full £329 refund to your debit card. I'll"
        " get a colleague to ring you through a text relay service when it's done."
    )
    verdict = mark_at(kb, shipped, "deaf-customer-adjustments/reply", reply)
    assert verdict.outcome == "incorrect"
    assert "phone-him" in verdict.misconceptions


@pytest.mark.parametrize(
    ("where", "reply", "kind"),
    [
        (
            "deaf-customer-adjustments/remedy",
            "B - full refund, as long as he has the original receipt",
            "receipt-required-by-law",
        ),
        (
            "faulty-kettle-refund/follow_up_repair@bought-45-days-ago",
            "D, but only after we've tried repairing the replacement as well",
            "added-condition",
        ),
    ],
)
def test_a_right_choice_typed_with_something_wrong_beside_it_earns_part_credit(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], where: str, reply: str, kind: str
) -> None:
    verdict = mark_at(kb, shipped, where, reply)
    assert verdict.outcome == "partial"
    assert kind in verdict.misconceptions
    # The option alone, pressed or typed, is still right.
    letter = reply[0]
    assert mark_at(kb, shipped, where, letter).outcome == "correct"


def test_an_option_said_again_in_other_words_is_not_an_added_condition(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    reply = "No, it's only for online, phone and doorstep sales"
    assert mark_at(kb, shipped, "jumper-change-of-mind/cooling_off", reply).outcome == "correct"


async def test_a_typed_choice_in_a_scenario_is_marked_with_its_words(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    chat, store = await kettle_at_investigate(kb, shipped)
    await chat.send("B, as long as he has the original receipt")
    answers = await store.answers(7)
    assert answers[-1].outcome == "partial"


def test_his_faulty_phone_is_not_calling_it_his_fault(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    answer = (
        "Reasonable adjustments under the Equality Act 2010: ask how he wants to communicate,"
        " then deal with his faulty phone complaint as I would anyone else's."
    )
    assert (
        "blame-customer"
        not in mark_at(kb, shipped, "deaf-customer-adjustments/adjustments", answer).misconceptions
    )


def test_what_the_customer_asked_for_in_a_note_is_hers_until_we_act(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    # "wants emails stopped and data deleted": "and" inside her request does not end it;
    # "and we wiped her data" starts a clause of our own.
    asked = "Julie Turner DPR-3307 - wants emails stopped and data deleted. Passed to DPO."
    assert (
        "data-deleted"
        not in mark_at(kb, shipped, "subject-access-erasure/record", asked).misconceptions
    )
    acted = "Julie Turner DPR-3307 - wanted her details updated and we wiped her data on the call."
    verdict = mark_at(kb, shipped, "subject-access-erasure/record", acted)
    assert "deleted-on-the-call" in verdict.misconceptions
