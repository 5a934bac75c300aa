"""True statements of the law (facts.yaml): a true extra with its figure is never wrong, while a
wrong figure beside one still is; a malformed facts file fails at load with file and line."""

import shutil
from pathlib import Path

import pytest

from flows.loader import ScenarioContent
from knowledge.loader import CONTENT_DIR, ContentError, KnowledgeBase, load_knowledge_base
from tests.flows.steps import mark_at


@pytest.mark.parametrize(
    ("where", "answer"),
    [
        (
            "faulty-kettle-refund/resolve_refund",
            "30 days - he can reject and get a full refund. Refund within 14 days of agreeing.",
        ),
        (
            "cra-particular-purpose",
            "Not fit for the particular purpose they told us about: they relied on our advice."
            " As it's within 30 days they could reject it for a refund too.",
        ),
    ],
)
def test_a_true_extra_with_its_figure_is_not_a_wrong_figure(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], where: str, answer: str
) -> None:
    verdict = mark_at(kb, shipped, where, answer)
    assert verdict.outcome == "correct", verdict


@pytest.mark.parametrize(
    ("where", "answer"),
    [
        # The second "6 months" is the presumption (true); the first is a wrong period.
        (
            "ccr-not-told-right-to-cancel",
            "Yes, they have 6 months, as within 6 months the burden of proof is on the trader.",
        ),
        # Bringing things back within 14 days is not a fact for goods bought in a shop.
        ("cra-reject-window", "14 days, they can bring it back within 14 days for a refund"),
    ],
)
def test_a_wrong_figure_beside_a_true_fact_is_still_wrong(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], where: str, answer: str
) -> None:
    assert mark_at(kb, shipped, where, answer).outcome == "incorrect"


def test_every_fact_cites_its_section_and_source(kb: KnowledgeBase) -> None:
    assert kb.facts
    for fact in kb.facts:
        assert fact.source.startswith("https://www.legislation.gov.uk/"), fact.id
        assert any(mark in fact.rule for mark in ("s.", "reg.", "Art.")), fact.id


def test_a_duplicate_fact_fails_at_load_with_file_and_line(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "facts.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.rstrip("\n").count("\n") + 3
    path.write_text(
        text.rstrip("\n")
        + '\n\n- id: breach-72-hours\n  patterns: ["72 hours"]\n  rule: "Again (Art. 33)."\n'
        '  source: "https://www.legislation.gov.uk/eur/2016/679/article/33"\n',
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as caught:
        load_knowledge_base(content)
    assert caught.value.path == path
    assert caught.value.line == lines
    assert "duplicate id 'breach-72-hours'" in caught.value.message


def test_a_clause_stating_a_true_fact_is_not_flagged_as_unfamiliar(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    reply = (
        "You were right, Mr Shah: the report shows the battery was faulty from manufacture. You're"
        " entitled to a free repair or a replacement, your choice. If that fails you can reject it"
        " for a refund, which may have a deduction for use. I'll order it today and call you."
    )
    verdict = mark_at(kb, shipped, "laptop-fault-after-six-months/reply", reply)
    assert (verdict.outcome, verdict.review) == ("correct", False), verdict


@pytest.mark.parametrize(
    ("where", "answer"),
    [
        # s.10(4): the law's own exception to fitness for purpose.
        (
            "cra-particular-purpose",
            "They must be fit for the particular purpose the customer told the shop about,"
            " unless the customer didn't rely on the shop's advice",
        ),
        # s.19(14)-(15): the presumption and how the trader rebuts it.
        (
            "complaint-investigate-actions",
            "Inspect the product and check the purchase date; it's within 6 months so the fault"
            " is presumed to have been there unless we can show otherwise",
        ),
        # s.23(3)-(4): the only ground for refusing the remedy the customer chose.
        (
            "faulty-kettle-refund/resolve_repair",
            "A repair or a replacement, free, and Mr Foster chooses which (as long as it isn't"
            " impossible or disproportionate for us)",
        ),
        # reg. 34(1)-(2): the standard delivery charge is refunded too.
        (
            "ccr-refund-timing",
            "Within 14 days of getting the goods back, and it includes the standard delivery"
            " charge",
        ),
    ],
)
def test_a_true_condition_or_extra_is_not_flagged(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], where: str, answer: str
) -> None:
    verdict = mark_at(kb, shipped, where, answer)
    assert (verdict.outcome, verdict.review) == ("correct", False), verdict


def test_an_invented_condition_beside_a_true_one_is_still_flagged(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent]
) -> None:
    answer = (
        "They must be fit for the particular purpose the customer told the shop about, unless"
        " the customer lost the receipt"
    )
    verdict = mark_at(kb, shipped, "cra-particular-purpose", answer)
    assert verdict.review
    assert "added-condition" in verdict.misconceptions


@pytest.mark.parametrize(
    ("period", "outcome"),
    [("within one month", "correct"), ("within 72 hours", "incorrect")],
)
def test_an_erasure_period_told_to_the_customer_is_a_figure_of_the_law(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], period: str, outcome: str
) -> None:
    reply = (
        "Of course, Mrs Turner, sorry for the confusion. I've stopped the marketing emails. I've"
        " logged your two requests, to see your information and to delete it, and passed them"
        f" to our data protection officer today. Your data will be deleted {period}, and it's"
        " free."
    )
    verdict = mark_at(kb, shipped, "subject-access-erasure/reply", reply)
    assert verdict.outcome == outcome, verdict
