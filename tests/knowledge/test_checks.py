"""`coach content check` logic: the core contract, example answers and criteria coverage."""

import dataclasses
from typing import Any

from knowledge.checks import check_content
from knowledge.loader import KnowledgeBase


def contract_item(kb: KnowledgeBase, question_id: str, **changes: Any) -> dict[str, Any]:
    question = kb.questions[question_id]
    return {"id": question_id, "prompt": question.prompt, "examples": [], **changes}


def test_matching_contract_has_no_contract_problems(kb: KnowledgeBase) -> None:
    contract = [
        contract_item(
            kb, "cra-reject-window", examples=[{"answer": "30 days", "verdict": "correct"}]
        )
    ]
    report = check_content(kb, contract)
    assert not [p for p in report.problems if "core question" in p]
    assert report.examples_checked >= 1


def test_contract_problems_are_reported(kb: KnowledgeBase) -> None:
    contract = [
        {"id": "not-in-the-bank", "prompt": "?", "examples": []},
        contract_item(kb, "cra-reject-window", prompt="A different prompt"),
        contract_item(
            kb, "cra-claim-time-limit", examples=[{"answer": "six years", "verdict": "incorrect"}]
        ),
    ]
    problems = check_content(kb, contract).problems
    assert "core question 'not-in-the-bank' is missing" in problems
    assert "core question 'cra-reject-window': prompt differs from the contract" in problems
    assert any("'six years' marked correct, contract says incorrect" in p for p in problems)


def test_missing_contract_is_a_note_not_a_problem(kb: KnowledgeBase) -> None:
    report = check_content(kb, None)
    assert any("contract not checked" in n for n in report.notes)


def test_coverage_counts_questions_and_scenarios(kb: KnowledgeBase) -> None:
    scenarios = dict.fromkeys(kb.criteria, 5)
    report = check_content(kb, None, scenario_criteria=scenarios)
    assert len(report.coverage) == 22
    assert all(row.scenarios == 5 for row in report.coverage)
    assert not [p for p in report.problems if p.startswith("criterion")]


def test_thin_coverage_is_a_problem(kb: KnowledgeBase) -> None:
    report = check_content(kb, None, scenario_criteria={})
    thin = [row.code for row in report.coverage if row.total < 2]
    for code in thin:
        assert any(p.startswith(f"criterion {code} ") for p in report.problems)
    assert report.ok == (not report.problems)


def test_shared_misconceptions_must_name_their_law(kb: KnowledgeBase) -> None:
    shared = dict(kb.misconceptions)
    shared["lawless"] = {
        "id": "lawless",
        "patterns": ["x"],
        "feedback": "It is 14 days (s.20(15)).",
    }
    report = check_content(dataclasses.replace(kb, misconceptions=shared), None)
    assert any(
        p.startswith("misconception 'lawless': citation 's.20(15)' names no law")
        for p in report.problems
    )
    assert not [p for p in check_content(kb, None).problems if p.startswith("misconception")]
