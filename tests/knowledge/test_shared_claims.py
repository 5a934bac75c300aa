"""Shared wrong claims and harmful practices (claims.yaml), and the review flag, through mark()."""

import pytest

from knowledge.loader import KnowledgeBase
from knowledge.marking import mark
from knowledge.models import CaseContext

IN_STORE_12_DAYS = CaseContext(texts=("bought 12 days ago",), channel="in store", days_since=12)


@pytest.mark.parametrize(
    ("question_id", "answer", "claim"),
    [
        (
            "cra-after-30-days",
            "repair or replacement, the shop gets 3 attempts",
            "several-repair-attempts",
        ),
        (
            "angry-customer-handling",
            "stay calm and tell them they only get one more replacement, then nothing",
            "nothing-after-failed-remedy",
        ),
        (
            "cra-after-30-days",
            "repair or replace, and the shop gets to choose which one",
            "trader-chooses-remedy",
        ),
        (
            "cra-after-30-days",
            "repair or replacement, but there's a £40 labour charge",
            "customer-pays-for-remedy",
        ),
        (
            "cra-after-30-days",
            "repair or replacement, with the customer paying half the cost",
            "customer-pays-for-remedy",
        ),
        (
            "cra-reject-window",
            "30 days, but by law we can only refund with a receipt",
            "receipt-required-by-law",
        ),
        (
            "cra-reject-window",
            "30 days, they need to contact the manufacturer first",
            "manufacturer-responsible",
        ),
        (
            "ccr-refund-timing",
            "14 days, but the delivery charge isn't refundable",
            "delivery-charge-kept",
        ),
        (
            "gdpr-sar-deadline",
            "one month, and there's a £10 admin fee for a copy of your data",
            "fee-for-subject-access",
        ),
        (
            "why-follow-id-check",
            "data protection, and share your password with the team so someone can get in",
            "share-password",
        ),
        (
            "satisfaction-feedback-after-exchange",
            "ask them, and offer a £10 voucher for a 5-star review",
            "incentivised-review",
        ),
        (
            "cra-sale-sign-rights",
            "the sign was clearly displayed so the customer accepted the terms: refund only if"
            " it's faulty",
            "notice-binds-customer",
        ),
        (
            "dissatisfaction-consequences",
            "customers lose their statutory rights if they don't complain within 30 days, and"
            " sales go down",
            "rights-lost-without-prompt-complaint",
        ),
        (
            "cpa-injury-report",
            "record the details, tell them to throw the heater away and pass it to my manager",
            "dispose-of-dangerous-product",
        ),
        (
            "gdpr-third-party-caller",
            "say I can't discuss her account without her permission, but I can confirm the"
            " address we have on file",
            "unverified-disclosure",
        ),
        (
            "referral-how-to",
            "tell the customer my manager will approve the £150, then send the supervisor the"
            " case notes",
            "promise-money-beyond-authority",
        ),
        (
            "why-follow-id-check",
            "the law, and if the wrong person gets the data we must tell the customer within one"
            " month",
            "breach-reported-in-a-month",
        ),
        (
            "cpa-property-threshold",
            "£275, including the faulty heater itself",
            "product-itself-covered",
        ),
        ("cpa-longstop-years", "10 years from the date they bought it", "longstop-from-purchase"),
        ("equality-nine-characteristics", "9, including social class", "class-as-protected"),
        ("nps-promoter-score", "9, with 7 and 8 counted as detractors", "passives-as-detractors"),
        (
            "dp-complaint-acknowledge-days",
            "30 days, extended by two more months if it's complex",
            "dp-complaint-extended",
        ),
        (
            "s75-trader-gone-bust",
            "section 75, but they must claim within 30 days or the card company isn't liable",
            "section-75-deadline",
        ),
        (
            "iso-10002-name-principles",
            "accessibility, responsiveness and only dealing with written complaints",
            "complaints-only-in-writing",
        ),
        (
            "cra-services-remedy",
            "she can choose either a refund of the fitting or for us to redo it",
            "service-refund-first",
        ),
        (
            "cra-after-30-days",
            "a repair or replacement, and it's the shop that decides which one",
            "trader-chooses-remedy",
        ),
        (
            "cra-after-30-days",
            "repair or replacement, or maybe a partial refund, not sure which comes first",
            "remedy-order-unknown",
        ),
        (
            "additional-needs",
            "ask for proof of their disability before helping",
            "proof-of-disability",
        ),
        (
            "satisfaction-methods",
            "ring them every day and ask for a 5-star review",
            "incentivised-review",
        ),
        (
            "equality-adjustments",
            "Talk to them slowly and loudly so they can lip read",
            "shouting-for-lipreading",
        ),
        (
            "equality-adjustments",
            "Offer a BSL interpreter, but they'll need to book and pay for it themselves",
            "charge-for-adjustment",
        ),
        (
            "equality-adjustments",
            "Next time you could use a relative to phone, that's quickest",
            "third-party-needed",
        ),
        (
            "cra-after-30-days",
            "it's past 30 days so all he can get is another repair visit",
            "only-repair-for-goods",
        ),
        (
            "cpa-longstop-years",
            "10 years from the date the customer bought it",
            "longstop-from-purchase",
        ),
        (
            "ccr-return-goods-days",
            "Within 14 days of delivery.",
            "return-goods-from-delivery",
        ),
        (
            "cra-sale-sign-rights",
            "They still have rights but only to an exchange because it was in the sale",
            "sale-only-exchange",
        ),
        (
            "ccr-not-told-right-to-cancel",
            "Yes, they can cancel at any time as there's no limit if they weren't told",
            "cancel-without-limit",
        ),
        (
            "additional-needs",
            "If they're in a wheelchair, tell them to come back when it's quieter",
            "turned-away-disabled",
        ),
        (
            "gdpr-object-marketing",
            "Log it, and tell them to click unsubscribe on the next email",
            "customer-must-unsubscribe",
        ),
        (
            "cra-change-of-mind",
            "No legal right, but the law only gives refunds if you've still got the carrier bag",
            "packaging-required-by-law",
        ),
        (
            "cra-change-of-mind",
            "Yes, the law says we have to exchange it for them",
            "law-requires-change-of-mind-refund",
        ),
        (
            "gdpr-verify-identity",
            "Verify them first. If they like I can post them a letter with the full card number",
            "disclose-full-card-number",
        ),
        (
            "cra-after-30-days",
            "After 30 days the law says we have to repair it first",
            "trader-chooses-remedy",
        ),
        (
            "cra-particular-purpose",
            "Fit for purpose, they told us it was for the bathroom. They've had it 3 weeks so"
            " they can only get a repair or replacement now",
            "only-repair-within-30-days",
        ),
        (
            "gdpr-erasure",
            "Check who they are, then send it to the ICO because the ICO handles erasure requests",
            "ico-handles-requests",
        ),
        (
            "cra-reject-window",
            "30 days for a full refund, and if it broke in the post the courier is responsible",
            "courier-responsible",
        ),
        (
            "additional-needs-small-text",
            "Increase the font size, and tell them the Equality Act entitles them to a discount",
            "equality-overclaim",
        ),
        (
            "referral-how-to",
            "Brief the supervisor on the case, then give the customer the supervisor's personal"
            " mobile",
            "personal-contact-details",
        ),
        (
            "why-follow-id-check",
            "To protect customers' data, and write your password on a sticky note on the screen",
            "share-password",
        ),
        (
            "equality-adjustments",
            "A BSL interpreter, the customer paying half",
            "charge-for-adjustment",
        ),
        (
            "gdpr-object-marketing",
            "Stop the marketing at once, though the company can refuse if it has a legitimate"
            " interest",
            "marketing-continues",
        ),
        ("cra-reject-window", "30 days for a full refund, minus £5 admin", "deduct-from-refund"),
        (
            "cra-after-30-days",
            "Repair or replacement, repaired through the manufacturer",
            "manufacturer-responsible",
        ),
        (
            "crm-record-chase-call",
            "Name, order number, what he asked, what I told him and when we'll call back, and"
            " that he is a moaner",
            "judgemental-record",
        ),
        (
            "gdpr-verify-identity",
            "Ask security questions to check it's her before disclosing anything; then her"
            " daughter will need to call us",
            "relative-must-handle",
        ),
        (
            "equality-adjustments",
            "Offer to type or write things down, but the helpline is the only way to complain",
            "turned-away-disabled",
        ),
        (
            "gdpr-verify-identity",
            "Ask security questions to check it's her before disclosing anything, or we'd get a"
            " £500 fine each time",
            "invented-fine",
        ),
        (
            "gdpr-verify-identity",
            "Ask security questions to check it's her before disclosing anything; it's against"
            " the GDPR for customers to know their own card number",
            "own-data-forbidden-by-law",
        ),
        # "once she has passed security" is a person passing a check, not a period gone.
        (
            "gdpr-verify-identity",
            "Ask her security questions first, then read out the card number once she has passed"
            " security",
            "unverified-disclosure",
        ),
        (
            "cra-after-30-days",
            "A repair or replacement, the customer's choice, free; if the repair fails she has to"
            " let us try repairing it again",
            "must-accept-another-repair",
        ),
        (
            "referral-how-to",
            "Brief the supervisor on the case first, then put him through, or just give him the"
            " £150 yourself",
            "promise-money-beyond-authority",
        ),
        (
            "equality-adjustments",
            "Offer to type or write things down, though complaints have to go through the"
            " helpline",
            "turned-away-disabled",
        ),
        (
            "gdpr-object-marketing",
            "stop the emails; cust adv'd to use unsubscribe link",
            "customer-must-unsubscribe",
        ),
        (
            "cra-reject-window",
            "30 days to reject it for a full refund, but the shop can insist on a repair first",
            "trader-chooses-remedy",
        ),
        (
            "gdpr-sar-deadline",
            "one month from receiving it, but we can take longer if we want",
            "extension-without-reason",
        ),
        (
            "cra-after-30-days",
            "A repair or replacement, free, and the customer chooses; tell him to send the faulty"
            " one back to the manufacturer",
            "manufacturer-responsible",
        ),
        (
            "cra-after-30-days",
            "the shop will decide if they repair it or send a new one",
            "trader-chooses-remedy",
        ),
        (
            "cra-after-30-days",
            "We'll repair it: our policy for laptops is repair not replace.",
            "trader-chooses-remedy",
        ),
        (
            "gdpr-verify-identity",
            "Read them the address to confirm it's the right account, then ask security questions",
            "unverified-disclosure",
        ),
        (
            "gdpr-verify-identity",
            "Ask their name and if it matches the account, read the details out",
            "weak-verification",
        ),
        (
            "cra-change-of-mind",
            "Yes, by law you can bring anything back within 14 days for a refund",
            "law-requires-change-of-mind-refund",
        ),
        (
            "equality-adjustments",
            "Be patient, and ask if there's anyone with you who can talk for you",
            "third-party-needed",
        ),
        # A belief kept, not taken back, is still claimed.
        (
            "cra-after-30-days",
            "Repair or replacement; I thought the shop gets to choose which one, and it does",
            "trader-chooses-remedy",
        ),
        (
            "cra-refund-method",
            "Same card he paid with, no fee, once the manufacturer has inspected it",
            "manufacturer-responsible",
        ),
        # What the customer asked for is recorded; what we then did is ours.
        (
            "gdpr-verify-identity",
            "Ask security questions first. She asked for the card number, so I read out the full"
            " card number.",
            "disclose-full-card-number",
        ),
        # From wave14's first run.
        (
            "confidential-info-types",
            "address, card details, and their account password so we can log in for them",
            "ask-for-secrets",
        ),
        (
            "refer-when",
            "When they threaten court, as we're not legally allowed to discuss it after that",
            "legal-threat-ends-help",
        ),
        (
            "cra-after-30-days",
            "Repair or replacement, but it's a manufacturer warranty job",
            "manufacturer-responsible",
        ),
        (
            "cra-digital-content",
            "Repair or replacement: contact the game company, as it's their game not ours",
            "manufacturer-responsible",
        ),
        (
            "cra-after-30-days",
            "A repair - it's up to the shop whether we repair or replace it",
            "trader-chooses-remedy",
        ),
        (
            "cra-after-30-days",
            "Repair or replacement; he can't ever have a refund now because it's past 30 days",
            "no-refund-after-30-days",
        ),
        (
            "cra-change-of-mind",
            "Yes, you've got 14 days to bring anything back by law",
            "law-requires-change-of-mind-refund",
        ),
        (
            "empathy-opening",
            "I'm so sorry, I can hear how upsetting this is! We'll refit it for free, or give you"
            " all your money back",
            "promise-before-checking",
        ),
        # From wave15's first run.
        (
            "equality-adjustments",
            "Sorry about that. Have you got anyone with you who can hear who could explain it?",
            "third-party-needed",
        ),
        (
            "gdpr-verify-identity",
            "Get her daughter to confirm it's her mum, then read it out",
            "unverified-disclosure",
        ),
        (
            "gdpr-verify-identity",
            "She sounds like a genuine older lady, so I'd confirm the address to her",
            "weak-verification",
        ),
        (
            "empathy-opening",
            "I'm sorry it's let you down. Most of the time it's people overloading the drum.",
            "blame-customer",
        ),
        (
            "refer-when",
            "When they threaten court you have to end the call, and when they swear at you",
            "legal-threat-ends-help",
        ),
        # The prompt's vacuum was bought five weeks ago: past the 30 days.
        (
            "complaint-investigate-actions",
            "Check the date then give a full refund as its within 30 days",
            "still-within-30-days",
        ),
    ],
    ids=lambda value: value if " " not in value else "",
)
def test_a_known_wrong_claim_makes_a_right_answer_incorrect(
    kb: KnowledgeBase, question_id: str, answer: str, claim: str
) -> None:
    verdict = mark(kb.questions[question_id], answer)
    assert verdict.outcome == "incorrect"
    assert claim in verdict.misconceptions
    assert not verdict.review  # known wrong: no tutor needed


@pytest.mark.parametrize(
    "answer",
    [
        "repair or replacement, the customer chooses, free of charge",
        "repair or replacement; the shop can refuse the one chosen only if it's impossible or"
        " disproportionate",
        "repair or a replacement, at no cost to the customer, and never 3 attempts: one go",
    ],
)
def test_the_true_versions_are_not_caught(kb: KnowledgeBase, answer: str) -> None:
    assert mark(kb.questions["cra-after-30-days"], answer).outcome == "correct"


@pytest.mark.parametrize(
    ("question_id", "answer"),
    [
        ("ccr-return-goods-days", "14 days after the day they told us they were cancelling"),
        ("cpa-longstop-years", "10 years from when the producer put it into circulation"),
        ("equality-adjustments", "Face them, don't shout, and offer to write things down"),
        (
            "cra-reject-window",
            "30 days for a full refund; if it broke in the post the courier isn't responsible, we"
            " are",
        ),
        ("equality-adjustments", "Offer a BSL interpreter at our cost, or typed notes"),
        (
            "gdpr-verify-identity",
            "Ask security questions to check it's her before disclosing anything, or we could be"
            " fined for a breach",
        ),
        (
            "equality-adjustments",
            "Offer to type or write things down, and an email address as well as the helpline",
        ),
        ("gdpr-verify-identity", "ask the caller to confirm the address we have on file"),
        (
            "cra-gift-rights",
            "Legally the purchaser's; the gift receipt lets the recipient bring it back, in effect"
            " passing the buyer's rights over",
        ),
        (
            "s75-trader-gone-bust",
            "Section 75 CCA 1974 makes the card issuer jointly liable: the sofa isn't of"
            " satisfactory quality under s.9 CRA 2015",
        ),
        (
            "cra-after-30-days",
            "Outside the 30 days they can't just get a refund: a repair or replacement",
        ),
        # A customer's request, recorded, is not something we said.
        (
            "gdpr-verify-identity",
            "Caller asked us to read out the full card number. Ask security questions first and"
            " say we never read out card numbers.",
        ),
        # The 30-day right gone is not every right gone; a price reduction is not a sale item.
        (
            "cra-after-30-days",
            "Repair or replacement, his choice. The 30-day right has gone; a price reduction only"
            " comes if the repair fails.",
        ),
        (
            "gdpr-verify-identity",
            "Verify her with the security questions before confirming anything, even if she"
            " sounds genuine",
        ),
        ("gdpr-sar-deadline", "One month, but I'd check whether there's a fee."),
        # A belief told in order to take it back is not claimed.
        (
            "cra-after-30-days",
            "Repair or replacement. I thought the shop gets to choose which one, but actually the"
            " customer chooses.",
        ),
        # 12 days after buying the kettle, "still within 30 days" is right.
        ("cra-reject-window", "30 days, and he's still within 30 days so a full refund"),
        (
            "gdpr-sar-phone-request",
            "It's a valid request: I've written down what she asked for and passed it to the data"
            " protection team, who reply within one month.",
        ),
    ],
)
def test_the_true_versions_of_the_new_claims_are_not_caught(
    kb: KnowledgeBase, question_id: str, answer: str
) -> None:
    assert mark(kb.questions[question_id], answer).misconceptions == ()


def test_a_claim_about_the_case_counts_only_where_the_case_makes_it_wrong(
    kb: KnowledgeBase,
) -> None:
    question = kb.questions["cra-reject-window"]
    answer = "30 days from purchase, but it's past the 14 day return period so only a repair"
    assert "too-late-within-30-days" in mark(question, answer, IN_STORE_12_DAYS).misconceptions
    later = CaseContext(texts=("bought 45 days ago",), channel="in store", days_since=45)
    assert "too-late-within-30-days" not in mark(question, answer, later).misconceptions
    # A bank question's prompt sets its case too: this one's kettle was bought in the shop
    # 12 days ago; a prompt that says nothing of when leaves the claim unchecked.
    assert "too-late-within-30-days" in mark(question, answer).misconceptions
    standards = kb.questions["cra-goods-standards"]
    assert "too-late-within-30-days" not in mark(standards, answer).misconceptions


def test_numbers_from_the_case_and_worked_out_from_it_are_not_wrong_figures(
    kb: KnowledgeBase,
) -> None:
    question = kb.questions["ccr-cancel-online"]
    delivered = CaseContext(texts=("delivered 6 days ago",), channel="online", days_since=6)
    answer = "14 days from delivery, so you have 8 days left"
    assert mark(question, answer).outcome == "incorrect"
    assert mark(question, answer, delivered).outcome == "correct"


def test_an_unfamiliar_claim_is_flagged_not_passed(kb: KnowledgeBase) -> None:
    verdict = mark(
        kb.questions["cra-after-30-days"],
        "repair or replacement, and the customer gets half off their next order",
    )
    assert verdict.outcome == "partial"
    assert verdict.review
    assert verdict.unrecognised == ("and the customer gets half off their next order",)
    assert "flagged this answer for your tutor" in verdict.feedback


def test_an_invented_condition_is_flagged_for_review(kb: KnowledgeBase) -> None:
    verdict = mark(kb.questions["cra-reject-window"], "30 days, but only if it's boxed")
    assert verdict.outcome == "incorrect"
    assert verdict.review
    assert "added-condition" in verdict.misconceptions


def test_a_year_is_twelve_months(kb: KnowledgeBase) -> None:
    assert mark(kb.questions["ccr-extension-months"], "a year").outcome == "correct"
    assert mark(kb.questions["cpa-longstop-years"], "a decade").outcome == "correct"


def test_a_claim_that_needs_the_case_age_is_checked_against_it(kb: KnowledgeBase) -> None:
    question = kb.questions["cra-after-30-days"]
    answer = "repair or replacement, and if that fails a full refund with no deduction whatsoever"
    eight_months = CaseContext(texts=("bought 8 months ago",), channel="in store", days_since=240)
    assert "no-deduction-after-six-months" in mark(question, answer, eight_months).misconceptions
    four_months = CaseContext(texts=("bought 4 months ago",), channel="in store", days_since=120)
    assert mark(question, answer, four_months).outcome == "correct"
    # The trader may choose not to deduct: that is an offer, not a statement of the law.
    offer = "repair or replacement; if that fails we've decided not to deduct anything for use"
    assert mark(question, offer, eight_months).outcome == "correct"


def test_offering_only_a_repair_within_30_days_is_wrong(kb: KnowledgeBase) -> None:
    question = kb.questions["cra-reject-window"]
    repair_only = "30 days, and we should offer a repair or replacement"
    assert (
        "repair-offered-within-30-days"
        in mark(question, repair_only, IN_STORE_12_DAYS).misconceptions
    )
    both = "30 days to reject it for a refund, or we can offer a repair if they prefer"
    assert mark(question, both, IN_STORE_12_DAYS).outcome == "correct"


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry. Have you been overloading it? That usually causes it.",
        "There's no need to call it robbery. I'll look into it.",
        "I'm sorry, but I'm not sure there's much we can do about that.",
    ],
)
def test_blame_and_dismissal_in_a_first_reply(kb: KnowledgeBase, answer: str) -> None:
    assert mark(kb.questions["complaint-acknowledge-actions"], answer).outcome == "incorrect"
