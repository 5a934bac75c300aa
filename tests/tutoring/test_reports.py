"""Progress reports: texts, CSV, the HTML evidence checklist, the chart and /stats."""

import asyncio
import csv
import io
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge.loader import KnowledgeBase
from knowledge.models import MESSAGE_MAX
from storage.reports import (
    AnswerRow,
    LearnerDetail,
    LearnerSummary,
    ReportStore,
    RunRow,
    SqliteReportStore,
)
from tests.storage.reports_seed import (
    ALICE,
    BOB,
    CARA,
    DAN,
    FORMULA,
    NOW,
    SCRIPT,
    Seeded,
    seed,
)
from tutoring.reports import (
    NO_LEARNERS,
    _activity,
    answers_csv,
    chart_png,
    criteria_matrix,
    evidence_html,
    evidenced_count,
    learner_detail,
    progress_csv,
    progress_pages,
    stats_text,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PRACTICE = tuple(f"A/500/7158:2.{n}" for n in range(1, 7))
TITLES = {"faulty-kettle-refund": "Faulty kettle", "subject-access-erasure": "Erase my data"}


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[Seeded]:
    data = await seed(tmp_path / "reports.db")
    async with data.store:
        yield data


@pytest.fixture
def reports(seeded: Seeded) -> ReportStore:
    return SqliteReportStore(seeded.store.database)


def learner(number: int, **changes: object) -> LearnerSummary:
    row = LearnerSummary(
        learner_id=number,
        display_name=f"Learner {number:02d}",
        username=f"user{number}",
        last_active=NOW - timedelta(days=number),
        scenarios_completed=number % 4,
        answers=number * 2,
        correct=number,
        criteria_met=frozenset({"POST:P1"}),
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


# --- /progress ----------------------------------------------------------------------------------


def test_progress_pages_over_25_learners(kb: KnowledgeBase) -> None:
    rows = [learner(n) for n in range(1, 26)]
    pages = progress_pages(rows, kb)
    assert len(pages) == 3
    assert [page.splitlines()[0] for page in pages] == [
        f"Progress – 25 learners, page {n} of 3" for n in (1, 2, 3)
    ]
    assert all(len(page) <= MESSAGE_MAX for page in pages)
    text = "\n".join(pages)
    for row in rows:  # every learner exactly once
        assert text.count(f"{row.display_name} (@{row.username}) · id {row.learner_id}\n") == 1
    assert pages[2].count("· id ") == 5
    first = pages[0]
    assert "Learner 01 (@user1) · id 1" in first
    assert "Last active: 9 Mar 2025 · Scenarios completed: 1 · Answers: 2 · Accuracy: 50%" in first
    assert "Criteria evidenced: 1 of 22 (6 need workplace practice)" in first


def test_progress_pages_never_exceed_a_message(kb: KnowledgeBase) -> None:
    rows = [learner(n, display_name="N" * 500, username="u" * 32) for n in range(1, 200)]
    pages = progress_pages(rows, kb, page_size=100, title="T" * 500)
    assert len(pages) > 2
    assert all(len(page) <= MESSAGE_MAX for page in pages)
    assert sum(page.count("· id ") for page in pages) == 199


def test_progress_pages_edge_cases(kb: KnowledgeBase) -> None:
    assert progress_pages([], kb) == [NO_LEARNERS]
    with pytest.raises(ValueError, match="page_size"):
        progress_pages([learner(1)], kb, page_size=0)
    [page] = progress_pages(
        [learner(1, display_name="", username=None, last_active=None, answers=0, correct=0)], kb
    )
    assert "(no name) · id 1" in page
    assert "Last active: never" in page
    assert "Accuracy: –" in page


def test_practice_criteria_are_never_counted(kb: KnowledgeBase) -> None:
    assert sorted(c for c in kb.criteria if kb.criteria[c].evidence == "practice") == sorted(
        PRACTICE
    )
    row = learner(1, criteria_met=frozenset({*PRACTICE, "POST:P3", "not-a-criterion"}))
    assert evidenced_count(row.criteria_met, kb) == 1
    [page] = progress_pages([row], kb)
    assert "Criteria evidenced: 1 of 22" in page
    everything = learner(2, criteria_met=frozenset(kb.criteria))
    assert "Criteria evidenced: 16 of 22" in progress_pages([everything], kb)[0]


async def test_progress_pages_on_the_seeded_cohort(
    reports: ReportStore, seeded: Seeded, kb: KnowledgeBase
) -> None:
    [page] = progress_pages(await reports.learner_summaries(seeded.tuesday.id), kb)
    assert page.startswith("Progress – 3 learners, page 1 of 1")
    # Alice has a correct answer for A/500/7158:2.2: practice, so 3 and not 4.
    assert (
        "Alice Able (@alice) · id 1\n"
        "Last active: 10 Mar 2025 · Scenarios completed: 2 · Answers: 5 · Accuracy: 80%\n"
        "Criteria evidenced: 3 of 22" in page
    )
    assert "Cara" not in page


# --- one learner --------------------------------------------------------------------------------


async def test_learner_detail(reports: ReportStore, kb: KnowledgeBase) -> None:
    detail = await reports.learner_detail(ALICE)
    assert detail is not None
    text = learner_detail(detail, kb, scenario_titles=TITLES)
    assert "Scenarios completed: 2" in text
    assert "• Faulty kettle: latest 90%, best 90% (2 runs, last 10 Mar 2025)" in text
    assert "• washing-machine-repair: latest 75%, best 75% (1 run, last 10 Mar 2025)" in text
    assert "Weakest topics:\n• Faulty goods (CRA 2015): 75% of 4 answers correct" in text
    assert "Data protection" not in text.split("Weakest topics:")[1].split("Last")[0]
    assert "Last 5 answers:" in text
    assert "• 10 Mar 2025 11:00 UTC · Scenario “Faulty kettle”, step check – Correct" in text
    assert "• 10 Mar 2025 00:30 UTC · Quiz, question quiz-30-days – Correct" in text
    assert "  “a full refund”" in text
    assert "Criteria evidenced: 3 of 22" in text


async def test_learner_detail_of_a_newcomer_and_of_partial_answers(
    reports: ReportStore, kb: KnowledgeBase
) -> None:
    cara = await reports.learner_detail(CARA)
    assert cara is not None
    text = learner_detail(cara, kb)
    assert "Scenarios completed: none yet." in text
    assert "Weakest topics: no answers yet." in text
    assert text.endswith("No answers yet.")
    bob = await reports.learner_detail(BOB)
    assert bob is not None
    text = learner_detail(bob, kb)
    assert "Partly correct (50%)" in text
    assert "Scenario “faulty-kettle-refund”, step check – Incorrect" in text


def test_learner_detail_fits_one_message(kb: KnowledgeBase) -> None:
    answers = tuple(
        AnswerRow(
            learner_id=1,
            question_id=f"q{n}",
            answer="word " * 2000,
            outcome="correct",
            score=1.0,
            criteria=("POST:P1",),
            topic="goods",
            scenario_id="s" * 80,
            step="step" * 20,
            source="push" if n % 2 else "scenario",
            created_at=NOW,
        )
        for n in range(40)
    )
    runs = tuple(RunRow(f"scenario-{n}-" + "x" * 60, 0.5, NOW) for n in range(30))
    detail = LearnerDetail(learner=learner(1, display_name="Z" * 300), runs=runs, answers=answers)
    text = learner_detail(detail, kb)
    assert len(text) <= MESSAGE_MAX
    assert "…and 18 more" in text
    assert "Tutor push, question q1" in text
    assert "Weakest topics: none – every answer so far was correct." in text
    # Long names everywhere: whole lines are dropped from the end, and the text says so.
    wrong = tuple(
        a.model_copy(update={"outcome": "incorrect", "score": 0.0, "topic": f"{n}" * 200})
        for n, a in enumerate(answers)
    )
    titles = {run.scenario_id: "T" * 400 for run in runs} | {"s" * 80: "S" * 400}
    long_ids = tuple(replace(run, scenario_id=run.scenario_id + "y" * 300) for run in runs)
    titles |= {run.scenario_id: "T" * 400 for run in long_ids}
    huge = learner_detail(
        LearnerDetail(learner=learner(1), runs=long_ids, answers=wrong),
        kb,
        scenario_titles=titles,
    )
    assert len(huge) <= MESSAGE_MAX
    assert huge.endswith("\n…")


# --- criteria matrix ----------------------------------------------------------------------------


async def test_criteria_matrix_counts_correct_answers(
    reports: ReportStore, seeded: Seeded, kb: KnowledgeBase
) -> None:
    rows = await reports.learner_summaries(seeded.tuesday.id)
    counts = await reports.criterion_counts(row.learner_id for row in rows)
    # The counts kept by triggers agree with the evidence rows they summarise.
    evidence = await reports.evidence(row.learner_id for row in rows)
    expected: dict[int, Counter[str]] = {}
    for row in evidence:
        if row.outcome == "correct":
            expected.setdefault(row.learner_id, Counter())[row.criterion] += 1
    assert counts == expected
    [page] = criteria_matrix(rows, counts, kb)
    assert page.startswith("Criteria evidence – page 1 of 1")
    blocks = page.split("\n\n")[1:]
    assert [block.splitlines()[0] for block in blocks] == [
        f"(no name) · id {DAN} – 0 of 22 evidenced",
        f"Alice Able (@alice) · id {ALICE} – 3 of 22 evidenced",
        f"Bob <b>Bold</b> (@bob) · id {BOB} – 0 of 22 evidenced",
    ]
    alice = blocks[1].splitlines()
    assert alice[1] == "POST: P1 – · P2 3 · P3 – · P4 –"
    assert alice[2].startswith("Y/504/6243: 1.1 – · 1.2 2 · 1.3 1 · 1.4 –")
    assert alice[3] == "A/500/7158: 1.1 – · 1.2 – · 1.3 – · 1.4 – · 2.1–2.6 practice"
    # Bob's answers were incorrect or partial: no evidence.
    assert blocks[2].splitlines()[1] == "POST: P1 – · P2 – · P3 – · P4 –"


def test_criteria_matrix_shows_a_lone_practice_criterion(kb: KnowledgeBase) -> None:
    lone = {
        code: kb.criteria[code]
        for code in ("POST:P1", "A/500/7158:1.1", "A/500/7158:2.1", "A/500/7158:2.3")
    }
    lone["POST:P2"] = kb.criteria["POST:P2"].model_copy(update={"evidence": "practice"})
    small = KnowledgeBase(criteria=lone, entries={}, questions={}, quizzes={})
    [page] = criteria_matrix([learner(1)], {}, small)
    assert "POST: P1 – · P2 practice" in page
    assert "A/500/7158: 1.1 – · 2.1–2.3 practice" in page
    assert "0 of 5 evidenced" in page


def test_criteria_matrix_pages(kb: KnowledgeBase) -> None:
    assert criteria_matrix([], {}, kb) == [NO_LEARNERS]
    rows = [learner(n, display_name="M" * 200) for n in range(1, 41)]
    pages = criteria_matrix(rows, {}, kb)
    assert len(pages) == 4
    assert all(len(page) <= MESSAGE_MAX for page in pages)
    assert sum(page.count(" evidenced\n") for page in pages) == 40


# --- CSV ----------------------------------------------------------------------------------------


async def test_answers_csv_parses_back(reports: ReportStore, seeded: Seeded) -> None:
    rows = await reports.learner_summaries(seeded.tuesday.id)
    answers = await reports.answers_of(row.learner_id for row in rows)
    table = read_csv(answers_csv(answers, rows))
    header, *body = table
    assert header[:4] == ["learner_id", "display_name", "username", "created_at_utc"]
    assert header[-1] == "answer"
    assert len(body) == 7
    record = dict(zip(header, body[-2], strict=True))
    assert record == {
        "learner_id": str(BOB),
        "display_name": "Bob <b>Bold</b>",
        "username": "bob",
        "created_at_utc": "2025-03-07T12:00:00+00:00",
        "source": "scenario",
        "push_id": "",
        "scenario_id": "faulty-kettle-refund",
        "step": "check",
        "question_id": "kettle-ack",
        "topic": "goods",
        "criteria": "POST:P1",
        "outcome": "incorrect",
        "score": "0",
        "answer": SCRIPT,
    }
    # A formula typed by a learner is neutralised so a spreadsheet shows it as text.
    assert body[-1][-1] == "'" + FORMULA
    quiz = dict(zip(header, body[3], strict=True))
    assert (quiz["source"], quiz["scenario_id"], quiz["step"]) == ("quiz", "", "")
    assert quiz["created_at_utc"] == "2025-03-10T00:30:00+00:00"
    assert quiz["criteria"] == "POST:P2"
    # Without summaries the names are simply empty.
    assert read_csv(answers_csv(answers))[1][1:3] == ["", ""]


async def test_progress_csv_parses_back(reports: ReportStore, kb: KnowledgeBase) -> None:
    rows = await reports.learner_summaries()
    header, *body = read_csv(progress_csv(rows, kb))
    assert header[:10] == [
        "learner_id",
        "display_name",
        "username",
        "last_active_utc",
        "scenarios_completed",
        "answers",
        "correct",
        "accuracy_percent",
        "criteria_evidenced",
        "criteria_total",
    ]
    assert header[10:] == list(kb.criteria)
    alice, _bob, cara = (dict(zip(header, row, strict=True)) for row in body)
    assert alice["accuracy_percent"] == "80.0"
    assert (alice["criteria_evidenced"], alice["criteria_total"]) == ("3", "22")
    assert (alice["POST:P2"], alice["POST:P1"], alice["A/500/7158:2.2"]) == ("1", "0", "practice")
    assert alice["last_active_utc"] == "2025-03-10T11:00:00+00:00"
    assert (cara["accuracy_percent"], cara["username"]) == ("", "")
    assert read_csv(progress_csv([learner(1, last_active=None)], kb))[1][3] == ""


# --- HTML evidence checklist --------------------------------------------------------------------


async def test_evidence_html_escapes_learner_text(reports: ReportStore, kb: KnowledgeBase) -> None:
    bob = await reports.learner_summary(BOB)
    assert bob is not None
    page = evidence_html(bob, await reports.evidence([BOB]), kb).decode("utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; refund &amp; &quot;exchange" in page
    assert "<b>" not in page
    assert "Bob &lt;b&gt;Bold&lt;/b&gt; (@bob)" in page
    assert "=HYPERLINK(&quot;http://evil&quot;" in page
    assert "Not yet evidenced – 1 answer, none correct yet" in page


async def test_evidence_html_is_a_printable_checklist(
    reports: ReportStore, kb: KnowledgeBase
) -> None:
    alice = await reports.learner_summary(ALICE)
    assert alice is not None
    evidence = await reports.evidence([ALICE, BOB])  # Bob's rows are ignored
    page = evidence_html(alice, evidence, kb, scenario_titles=TITLES, generated_at=NOW).decode(
        "utf-8"
    )
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert "@media print" in page
    # Self-contained: no scripts, stylesheets or images fetched from anywhere.
    for outside in ("<script", "<link", "src=", "url("):
        assert outside not in page
    assert "<tr><th>Criteria evidenced</th><td>3 of 22</td></tr>" in page
    assert "10 Mar 2025 12:00 UTC" in page
    assert page.count('<section class="criterion') == 22
    p2 = page.split("POST:P2 – ")[1].split("</section>")[0]
    assert "Evidenced – 3 correct of 4 answers" in p2
    assert "Scenario “Faulty kettle”, step check" in p2
    assert "Quiz, question quiz-30-days" in p2
    assert "a full refund" in p2
    practice = page.split("A/500/7158:2.2 – ")[1].split("</section>")[0]
    assert "Practice – must be evidenced in the workplace" in practice
    assert "log the request in the CRM" in practice  # listed, but not counted
    p1 = page.split("POST:P1 – ")[1].split("</section>")[0]
    assert "No evidence yet" in p1
    assert "Bob" not in page
    assert "<th>Generated</th>" not in evidence_html(alice, [], kb).decode("utf-8")


# --- chart --------------------------------------------------------------------------------------


async def test_chart_png_off_the_event_loop(reports: ReportStore, kb: KnowledgeBase) -> None:
    rows = await reports.learner_summaries()
    topics = await reports.topic_accuracy()
    # Two charts at once in worker threads, as the bot runs them.
    first, second = await asyncio.gather(
        asyncio.to_thread(chart_png, rows, topics, kb),
        asyncio.to_thread(chart_png, rows[:1], topics[:1], kb),
    )
    assert first.startswith(PNG_SIGNATURE)
    assert second.startswith(PNG_SIGNATURE)
    assert len(first) > 10_000
    # No pyplot: no global figure registry and no backend switch.
    assert "matplotlib.pyplot" not in sys.modules


def test_chart_png_with_no_data(kb: KnowledgeBase) -> None:
    assert chart_png([], [], kb).startswith(PNG_SIGNATURE)


# --- /stats -------------------------------------------------------------------------------------


async def test_stats_text(reports: ReportStore) -> None:
    text = stats_text(await reports.counts(NOW))
    assert text.splitlines() == [
        "Aftercare Coach – statistics",
        "Learners: 3",
        "Active in the last 7 days: 2",
        "Answers today (UTC): 2",
        "Answers in total: 7",
        "Scenarios finished: 3",
        "Quiz pushes pending: 0",
    ]


async def test_evidence_shows_a_verdicts_review_history(
    reports: ReportStore, kb: KnowledgeBase
) -> None:
    alice = await reports.learner_summary(ALICE)
    assert alice is not None
    evidence = await reports.evidence([ALICE])
    first = evidence[0]
    note = "marked incorrect automatically, corrected to correct by tutor 2 on 1 Dec 2026: <ok>"
    page = evidence_html(
        alice, evidence, kb, notes={(first.question_id, first.created_at): note}
    ).decode("utf-8")
    assert (
        '<span class="note">marked incorrect automatically, corrected to correct by tutor 2'
        " on 1 Dec 2026: &lt;ok&gt;</span>"
    ) in page


def test_a_revision_answer_is_labelled_as_revision() -> None:
    row = AnswerRow(
        learner_id=1,
        question_id="cra-reject-window",
        answer="30 days",
        outcome="correct",
        score=1.0,
        criteria=(),
        topic="cra-goods",
        scenario_id=None,
        step=None,
        source="revision",
        created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    assert _activity(row, {}) == "Revision, question cra-reject-window"
    step = row.model_copy(update={"scenario_id": "test-kettle", "step": "check"})
    assert _activity(step, {"test-kettle": "Kettle"}) == "Revision of “Kettle”, step check"
