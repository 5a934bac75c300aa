"""Marking a reply at a scenario step, named as learners meet it."""

from collections.abc import Mapping

from flows.loader import ScenarioContent
from flows.questions import find_askable
from knowledge.loader import KnowledgeBase
from knowledge.marking import mark
from knowledge.models import Verdict


def mark_at(
    kb: KnowledgeBase, scenarios: Mapping[str, ScenarioContent], where: str, reply: str
) -> Verdict:
    """`reply` marked at `where`: a bank question id, SCENARIO/STEP, or SCENARIO/STEP@VARIANT
    for one version of the case."""
    question_id, _, variant = where.partition("@")
    askable = find_askable(kb, scenarios, question_id, variant or None)
    return mark(askable.question, reply, askable.case)
