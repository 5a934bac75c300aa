"""Progress reports for tutors and admins, built from `storage.reports` rows: pure functions.

Texts are plain (the transport escapes them) and each fits in one Telegram message; files come
back as bytes (CSV, a printable HTML evidence checklist, a PNG chart). A criterion counts as
evidenced when at least one answer tagged with it was marked correct; the competence criteria
whose evidence is "practice" (A/500/7158 2.1-2.6) are shown as practice and never counted.
"""

from __future__ import annotations

import csv
import html
import io
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime

from knowledge.loader import KnowledgeBase
from knowledge.models import MESSAGE_MAX, TOPIC_TITLES, Criterion
from tutoring.ports import (
    AnswerRow,
    Counts,
    EvidenceRow,
    LearnerDetail,
    LearnerSummary,
    TopicStat,
)
from tutoring.question_stats import QuestionStat

UNIT_TITLES: dict[str, str] = {
    "POST": "Provide post-transaction customer service",
    "Y/504/6243": "Organisational procedures for delivering customer service",
    "A/500/7158": "Customer care in ICT",
}
OUTCOME_LABELS: dict[str, str] = {
    "correct": "Correct",
    "partial": "Partly correct",
    "incorrect": "Incorrect",
    "revealed": "Answer revealed",
    "skipped": "Skipped",
}
NAME_MAX = 60
EXCERPT_MAX = 120
DETAIL_ANSWERS = 10
DETAIL_SCENARIOS = 12
WEAKEST_TOPICS = 3
TOPIC_SLOTS = 8
NO_LEARNERS = "No learners to report on yet."
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# Skipped before looking for a formula character: what a spreadsheet may trim or not show.
_LEADING_JUNK = " \u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_LEADING_JUNK += "\u200b\u200c\u200d\u200e\u200f\u2060\u3000\ufeff\n"


# --- shared helpers -----------------------------------------------------------------------------


def simulation_criteria(kb: KnowledgeBase) -> list[Criterion]:
    """The criteria a learner can evidence here (not the workplace-only 'practice' ones)."""
    return [c for c in kb.criteria.values() if c.evidence == "simulation"]


def evidenced_count(criteria_met: Iterable[str], kb: KnowledgeBase) -> int:
    """How many simulation criteria are in `criteria_met`; practice criteria never count."""
    codes = {c.code for c in simulation_criteria(kb)}
    return len(codes.intersection(criteria_met))


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _who(learner: LearnerSummary) -> str:
    name = _clip(learner.display_name, NAME_MAX) or "(no name)"
    handle = f" (@{learner.username})" if learner.username else ""
    return f"{name}{handle} · id {learner.learner_id}"


def _utc(moment: datetime) -> datetime:
    # Stored timestamps carry an offset; a naive one can only be UTC (the store's clock).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    moment = _utc(moment)
    return f"{moment.day} {moment:%b %Y}"


def _minute(moment: datetime) -> str:
    moment = _utc(moment)
    return f"{moment.day} {moment:%b %Y %H:%M} UTC"


def _answers(count: int) -> str:
    return "1 answer" if count == 1 else f"{count} answers"


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)}%"


def _verdict(outcome: str, score: float) -> str:
    label = OUTCOME_LABELS.get(outcome, outcome)
    return label if outcome in {"correct", "incorrect"} else f"{label} ({round(score * 100)}%)"


def _activity(row: AnswerRow | EvidenceRow, scenario_titles: Mapping[str, str]) -> str:
    """Where an answer was given: a scenario step, a quiz, a tutor's push or a revision."""
    if row.source == "scenario" and row.scenario_id is not None:
        title = scenario_titles.get(row.scenario_id, row.scenario_id)
        return f"Scenario “{title}”, step {row.step}" if row.step else f"Scenario “{title}”"
    if row.source == "push":
        pushed = f"Tutor push #{row.push_id}" if row.push_id is not None else "Tutor push"
        return f"{pushed}, question {row.question_id}"
    if row.source == "revision":
        if row.scenario_id is not None:
            title = scenario_titles.get(row.scenario_id, row.scenario_id)
            return f"Revision of “{title}”, step {row.step}"
        return f"Revision, question {row.question_id}"
    return f"Quiz, question {row.question_id}"


def _criteria_line(learner: LearnerSummary, kb: KnowledgeBase) -> str:
    practice = len(kb.criteria) - len(simulation_criteria(kb))
    return (
        f"Criteria evidenced: {evidenced_count(learner.criteria_met, kb)} of {len(kb.criteria)}"
        f" ({practice} need workplace practice)"
    )


def _paginate(
    header: Callable[[int, int], str], blocks: Sequence[str], page_size: int
) -> list[str]:
    """Blocks into pages of at most `page_size` blocks and MESSAGE_MAX characters each."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}")
    # Page numbers never exceed the number of blocks, so this header is the longest one.
    reserve = len(header(len(blocks), len(blocks))) + 2
    room = MESSAGE_MAX - reserve
    pages: list[list[str]] = []
    size = 0
    for block in blocks:
        clipped = block if len(block) <= room else block[: room - 1] + "…"
        if not pages or len(pages[-1]) >= page_size or size + len(clipped) + 2 > room:
            pages.append([])
            size = 0
        pages[-1].append(clipped)
        size += len(clipped) + 2
    return [
        header(number, len(pages)) + "\n\n" + "\n\n".join(page)
        for number, page in enumerate(pages, start=1)
    ]


def _fit(lines: Sequence[str]) -> str:
    """Join lines, dropping whole lines from the end if the text would not fit one message."""
    text = "\n".join(lines)
    if len(text) <= MESSAGE_MAX:
        return text
    kept = text[: MESSAGE_MAX - 2].rsplit("\n", 1)[0]
    return kept + "\n…"


# --- /progress ----------------------------------------------------------------------------------


def progress_pages(
    rows: Sequence[LearnerSummary],
    kb: KnowledgeBase,
    page_size: int = 10,
    *,
    title: str = "Progress",
    revision: Mapping[int, str] | None = None,
) -> list[str]:
    """One message per page of learners: last active, scenarios, answers, accuracy, criteria,
    and (`revision`, by learner id) their revision line: cards due, last revision, streak."""
    if not rows:
        return [NO_LEARNERS]
    revision = revision or {}
    blocks = [
        f"{_who(row)}\n"
        f"Last active: {_day(row.last_active)} · Scenarios completed: {row.scenarios_completed}"
        f" · Answers: {row.answers} · Accuracy: {_percent(row.accuracy)}\n"
        f"{_criteria_line(row, kb)}"
        + (f"\n{revision[row.learner_id]}" if row.learner_id in revision else "")
        for row in rows
    ]
    heading = _clip(title, 100)

    def header(number: int, pages: int) -> str:
        return f"{heading} – {len(rows)} learners, page {number} of {pages}"

    return _paginate(header, blocks, page_size)


def learner_detail(
    detail: LearnerDetail,
    kb: KnowledgeBase,
    *,
    scenario_titles: Mapping[str, str] | None = None,
    notes: Mapping[tuple[str, datetime], str] | None = None,
) -> str:
    """One learner: scenarios with scores, weakest topics and the last answers with verdicts
    (`notes`: a verdict's review history, by question id and time answered)."""
    titles = scenario_titles or {}
    learner = detail.learner
    lines = [
        _who(learner),
        f"Last active: {_day(learner.last_active)} · Answers: {learner.answers}"
        f" · Accuracy: {_percent(learner.accuracy)}",
        _criteria_line(learner, kb),
        "",
    ]
    lines += _scenario_lines(detail, titles)
    lines += ["", *_weakest_topic_lines(detail.answers), ""]
    recent = detail.answers[:DETAIL_ANSWERS]
    lines.append(f"Last {len(recent)} answers:" if recent else "No answers yet.")
    for answer in recent:
        where = _activity(answer, titles)
        lines.append(
            f"• {_minute(answer.created_at)} · {_clip(where, 90)} – "
            f"{_verdict(answer.outcome, answer.score)}"
        )
        lines.append(f"  “{_clip(answer.answer, EXCERPT_MAX)}”")
        note = (notes or {}).get((answer.question_id, answer.created_at))
        if note:
            lines.append(f"  ↳ {_clip(note, 200)}")
    return _fit(lines)


def _scenario_lines(detail: LearnerDetail, titles: Mapping[str, str]) -> list[str]:
    by_scenario: dict[str, list[float]] = defaultdict(list)
    last_finished: dict[str, datetime] = {}
    for run in detail.runs:  # oldest first, so the last score seen is the latest
        by_scenario[run.scenario_id].append(run.score)
        last_finished[run.scenario_id] = run.finished_at
    if not by_scenario:
        return ["Scenarios completed: none yet."]
    lines = [f"Scenarios completed: {len(by_scenario)}"]
    latest_first = sorted(by_scenario, key=lambda s: last_finished[s], reverse=True)
    for scenario_id in latest_first[:DETAIL_SCENARIOS]:
        scores = by_scenario[scenario_id]
        runs = f"{len(scores)} runs" if len(scores) > 1 else "1 run"
        lines.append(
            f"• {_clip(titles.get(scenario_id, scenario_id), 80)}: latest {_percent(scores[-1])},"
            f" best {_percent(max(scores))} ({runs}, last {_day(last_finished[scenario_id])})"
        )
    if len(latest_first) > DETAIL_SCENARIOS:
        lines.append(f"…and {len(latest_first) - DETAIL_SCENARIOS} more")
    return lines


def _weakest_topic_lines(answers: Sequence[AnswerRow]) -> list[str]:
    totals: Counter[str] = Counter(a.topic for a in answers)
    correct: Counter[str] = Counter(a.topic for a in answers if a.outcome == "correct")
    weak = sorted(
        (topic for topic in totals if correct[topic] < totals[topic]),
        key=lambda t: (correct[t] / totals[t], -totals[t], t),
    )[:WEAKEST_TOPICS]
    if not totals:
        return ["Weakest topics: no answers yet."]
    if not weak:
        return ["Weakest topics: none – every answer so far was correct."]
    lines = ["Weakest topics:"]
    for topic in weak:
        lines.append(
            f"• {_clip(TOPIC_TITLES.get(topic, topic), 80)}:"
            f" {_percent(correct[topic] / totals[topic])}"
            f" of {_answers(totals[topic])} correct"
        )
    return lines


# --- criteria matrix ----------------------------------------------------------------------------


def _short(code: str) -> str:
    return code.split(":", 1)[1]


def _unit_cells(unit: list[Criterion], counts: Mapping[str, int]) -> str:
    cells = [
        f"{_short(c.code)} {counts.get(c.code, 0) or '–'}"
        for c in unit
        if c.evidence == "simulation"
    ]
    practice = [c for c in unit if c.evidence == "practice"]
    if len(practice) > 1:
        cells.append(f"{_short(practice[0].code)}–{_short(practice[-1].code)} practice")
    elif practice:
        cells.append(f"{_short(practice[0].code)} practice")
    return " · ".join(cells)


def criteria_matrix(
    rows: Sequence[LearnerSummary],
    counts: Mapping[int, Mapping[str, int]],
    kb: KnowledgeBase,
    page_size: int = 12,
) -> list[str]:
    """Learners by criteria: correct answers per criterion (`counts`, by learner), one block of
    lines per learner.

    Returns pages (like `progress_pages`), since a cohort's matrix may not fit one message.
    """
    if not rows:
        return [NO_LEARNERS]
    units: dict[str, list[Criterion]] = defaultdict(list)
    for criterion in kb.criteria.values():
        units[criterion.unit].append(criterion)
    blocks = []
    for learner in rows:
        mine = counts.get(learner.learner_id, {})
        evidenced = evidenced_count((code for code, n in mine.items() if n), kb)
        lines = [f"{_who(learner)} – {evidenced} of {len(kb.criteria)} evidenced"]
        lines += [f"{unit}: {_unit_cells(members, mine)}" for unit, members in units.items()]
        blocks.append("\n".join(lines))

    def header(number: int, pages: int) -> str:
        return (
            f"Criteria evidence – page {number} of {pages}\n"
            "Each number counts correct answers for that criterion (– none yet). “practice”"
            " criteria need workplace evidence and are never counted."
        )

    return _paginate(header, blocks, page_size)


# --- CSV ----------------------------------------------------------------------------------------


def _cell(text: str | None) -> str:
    """Learner-provided text, neutralised so a spreadsheet never runs it as a formula.

    Bidi overrides (U+202A-U+202E, U+2066-U+2069) are dropped: they make a cell read as
    something else. A formula character is looked for after leading spaces and invisible
    characters, and in its compatibility form (some spreadsheets take a full-width equals
    sign for =).
    """
    if not text:
        return ""
    text = text.translate(_BIDI_CONTROLS)
    start = unicodedata.normalize("NFKC", text.lstrip(_LEADING_JUNK)[:1])
    if text.startswith(_FORMULA_STARTS) or start.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def answers_csv(answers: Sequence[AnswerRow], learners: Sequence[LearnerSummary] = ()) -> bytes:
    """Every answer as a CSV row (UTF-8, header row); `learners` supply the names."""
    names = {learner.learner_id: learner for learner in learners}
    header = (
        "learner_id",
        "display_name",
        "username",
        "created_at_utc",
        "source",
        "push_id",
        "scenario_id",
        "step",
        "question_id",
        "topic",
        "criteria",
        "outcome",
        "score",
        "answer",
    )
    rows = []
    for answer in answers:
        learner = names.get(answer.learner_id)
        rows.append(
            (
                answer.learner_id,
                _cell(learner.display_name if learner else None),
                _cell(learner.username if learner else None),
                _utc(answer.created_at).isoformat(),
                answer.source,
                "" if answer.push_id is None else answer.push_id,
                answer.scenario_id or "",
                answer.step or "",
                answer.question_id,
                answer.topic,
                " ".join(answer.criteria),
                answer.outcome,
                f"{answer.score:g}",
                _cell(answer.answer),
            )
        )
    return _csv(header, rows)


def questions_csv(stats: Sequence[QuestionStat]) -> bytes:
    """One CSV row per question, worst first: facility, wrong answers, overrides, flags."""
    header = (
        "question_id",
        "topic",
        "answers",
        "learners",
        "facility_percent",
        "overridden_up",
        "overridden_down",
        "flagged_percent",
        "common_wrong_answers",
    )
    rows = [
        (
            stat.question_id,
            stat.topic,
            stat.answers,
            stat.learners,
            "" if stat.facility is None else f"{stat.facility * 100:.1f}",
            stat.raised,
            stat.lowered,
            f"{stat.flagged_share * 100:.1f}",
            _cell(" | ".join(f"{text} ×{count}" for text, count in stat.wrong)),
        )
        for stat in stats
    ]
    return _csv(header, rows)


def progress_csv(rows: Sequence[LearnerSummary], kb: KnowledgeBase) -> bytes:
    """One CSV row per learner with a column per criterion (1 evidenced, 0 not, or practice)."""
    criteria = list(kb.criteria.values())
    header = [
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
        *(c.code for c in criteria),
    ]
    body = []
    for row in rows:
        accuracy = row.accuracy
        body.append(
            [
                row.learner_id,
                _cell(row.display_name),
                _cell(row.username),
                _utc(row.last_active).isoformat() if row.last_active else "",
                row.scenarios_completed,
                row.answers,
                row.correct,
                "" if accuracy is None else f"{accuracy * 100:.1f}",
                evidenced_count(row.criteria_met, kb),
                len(criteria),
                *(
                    "practice"
                    if c.evidence == "practice"
                    else "1"
                    if c.code in row.criteria_met
                    else "0"
                    for c in criteria
                ),
            ]
        )
    return _csv(header, body)


# --- HTML evidence checklist --------------------------------------------------------------------

_STYLE = """
body { font-family: Arial, Helvetica, sans-serif; font-size: 11pt; color: #111; margin: 2em; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
h2 { font-size: 14pt; border-bottom: 2px solid #333; margin-top: 1.5em; }
h3 { font-size: 12pt; margin: 0 0 0.3em; }
table { width: 100%; border-collapse: collapse; margin: 0.4em 0; }
th, td { border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #eee; }
.criterion { margin: 1em 0; padding: 0.6em; border: 1px solid #ccc; break-inside: avoid; }
.answer { white-space: pre-wrap; }
.status { font-weight: bold; }
.evidenced .status { color: #135e13; }
.practice .status { color: #7a4b00; }
.note { font-size: 10pt; color: #444; }
.sign { margin-top: 0.6em; }
@page { size: A4; margin: 15mm; }
@media print { body { margin: 0; } th { background: none; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _status(criterion: Criterion, rows: Sequence[EvidenceRow]) -> tuple[str, str]:
    """The CSS class and the status line of one criterion."""
    correct = sum(1 for row in rows if row.outcome == "correct")
    if criterion.evidence == "practice":
        return "practice", "Practice – must be evidenced in the workplace (not counted here)"
    if correct:
        return "evidenced", f"Evidenced – {correct} correct of {_answers(len(rows))}"
    if rows:
        return "attempted", f"Not yet evidenced – {_answers(len(rows))}, none correct yet"
    return "missing", "No evidence yet"


def evidence_html(
    learner: LearnerSummary,
    evidence: Sequence[EvidenceRow],
    kb: KnowledgeBase,
    *,
    scenario_titles: Mapping[str, str] | None = None,
    generated_at: datetime | None = None,
    notes: Mapping[tuple[str, datetime], str] | None = None,
) -> bytes:
    """A self-contained, printable evidence checklist for an assessor (UTF-8 HTML); `notes`:
    a verdict's review history, by question id and time answered."""
    titles = scenario_titles or {}
    by_criterion: dict[str, list[EvidenceRow]] = defaultdict(list)
    for row in evidence:
        if row.learner_id == learner.learner_id:
            by_criterion[row.criterion].append(row)
    name = learner.display_name or "(no name)"
    handle = f" (@{learner.username})" if learner.username else ""
    evidenced = evidenced_count(
        (code for code, rows in by_criterion.items() if any(r.outcome == "correct" for r in rows)),
        kb,
    )
    parts = [
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">',
        f"<title>Evidence checklist – {_e(name)}</title>",
        f"<style>{_STYLE}</style>\n</head>\n<body>",
        "<h1>Evidence checklist</h1>",
        "<table>",
        f"<tr><th>Learner</th><td>{_e(name + handle)}</td></tr>",
        f"<tr><th>Telegram id</th><td>{_e(learner.learner_id)}</td></tr>",
        f"<tr><th>Last active</th><td>{_e(_day(learner.last_active))}</td></tr>",
        f"<tr><th>Criteria evidenced</th><td>{evidenced} of {len(kb.criteria)}</td></tr>",
    ]
    if generated_at is not None:
        parts.append(f"<tr><th>Generated</th><td>{_e(_minute(generated_at))}</td></tr>")
    parts += [
        "</table>",
        '<p class="note">A criterion is evidenced by at least one answer marked correct in the'
        " Aftercare Coach simulations. Criteria marked “practice” are competence criteria: they"
        " must be evidenced in the workplace, and any answers listed under them are background"
        " only. Every answer below is the learner’s own text as they typed it.</p>",
    ]
    units: dict[str, list[Criterion]] = defaultdict(list)
    for criterion in kb.criteria.values():
        units[criterion.unit].append(criterion)
    for unit, criteria in units.items():
        parts.append(f"<h2>{_e(unit)} – {_e(UNIT_TITLES.get(unit, unit))}</h2>")
        for criterion in criteria:
            rows = by_criterion.get(criterion.code, [])
            parts += _criterion_html(criterion, rows, titles, notes or {})
    parts.append("</body>\n</html>\n")
    return "\n".join(parts).encode("utf-8")


def _criterion_html(
    criterion: Criterion,
    rows: Sequence[EvidenceRow],
    titles: Mapping[str, str],
    notes: Mapping[tuple[str, datetime], str],
) -> list[str]:
    css, status = _status(criterion, rows)
    parts = [
        f'<section class="criterion {css}">',
        f"<h3>{_e(criterion.code)} – {_e(criterion.title)}</h3>",
        f'<p class="status">{_e(status)}</p>',
    ]
    if rows:
        parts.append(
            "<table>\n<thead><tr><th>Activity</th><th>Date</th><th>Learner’s answer</th>"
            "<th>Verdict</th></tr></thead>\n<tbody>"
        )
        for row in rows:
            activity = _activity(row, titles)
            note = notes.get((row.question_id, row.created_at))
            history = f'<br><span class="note">{_e(note)}</span>' if note else ""
            parts.append(
                f"<tr><td>{_e(activity)}</td><td>{_e(_minute(row.created_at))}</td>"
                f'<td class="answer">{_e(row.answer)}</td>'
                f"<td>{_e(_verdict(row.outcome, row.score))}{history}</td></tr>"
            )
        parts.append("</tbody>\n</table>")
    parts.append(
        '<p class="sign">Assessor: accepted ☐ not yet ☐ &nbsp; Initials ________'
        " &nbsp; Date ________</p>\n</section>"
    )
    return parts


# --- chart --------------------------------------------------------------------------------------


def chart_png(
    rows: Sequence[LearnerSummary], topics: Sequence[TopicStat], kb: KnowledgeBase
) -> bytes:
    """Accuracy by topic and criteria coverage as one PNG; safe to run in a worker thread.

    Built on a bare `Figure` (Agg canvas): no pyplot, so no global figure registry, no backend
    switch and no rcParams change; nothing outlives the call. No learner text is drawn (the bot
    names the cohort in the caption), so no user string reaches mathtext or font lookup.
    """
    # Imported here: matplotlib costs ~0.4 s to import, and only this report needs it.
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(12, 7), dpi=100, layout="constrained")
    topic_axes, criteria_axes = figure.subplots(1, 2, width_ratios=(1, 1))

    shown = [t for t in topics if t.answers]
    if shown:
        labels = [f"{TOPIC_TITLES.get(t.topic, t.topic)} ({t.answers})" for t in shown]
        positions = range(len(shown))
        bars = topic_axes.barh(
            positions, [t.accuracy * 100 for t in shown], height=0.6, color="#3b7dd8"
        )
        topic_axes.bar_label(bars, fmt="%.0f%%", padding=2, fontsize=8)
        topic_axes.set_yticks(list(positions), labels=labels, fontsize=8)
        # A few topics keep thin bars: at least TOPIC_SLOTS rows, top to bottom.
        topic_axes.set_ylim(max(len(shown), TOPIC_SLOTS) - 0.5, -0.5)
    else:
        topic_axes.text(0.5, 0.5, "No answers yet", ha="center", va="center")
        topic_axes.set_yticks([])
    topic_axes.set_xlim(0, 112)  # room for the "100%" label
    topic_axes.set_xticks(range(0, 101, 20))
    topic_axes.set_xlabel("% of answers correct")
    topic_axes.set_title("Accuracy by topic (answers)", fontsize=11)

    criteria = list(kb.criteria.values())
    learners = len(rows)
    shares = [
        0.0
        if c.evidence == "practice" or not learners
        else 100 * sum(1 for r in rows if c.code in r.criteria_met) / learners
        for c in criteria
    ]
    colours = ["#bbbbbb" if c.evidence == "practice" else "#2e9e5b" for c in criteria]
    positions = range(len(criteria))
    bars = criteria_axes.barh(positions, shares, height=0.6, color=colours)
    labels = [
        "practice" if c.evidence == "practice" else f"{share:.0f}%" if share else ""
        for c, share in zip(criteria, shares, strict=True)
    ]
    criteria_axes.bar_label(bars, labels=labels, padding=2, fontsize=7, color="#444444")
    criteria_axes.set_yticks(list(positions), labels=[c.code for c in criteria], fontsize=7)
    criteria_axes.invert_yaxis()
    criteria_axes.set_xlim(0, 112)
    criteria_axes.set_xticks(range(0, 101, 20))
    criteria_axes.set_xlabel(f"% of {learners} learners with a correct answer")
    criteria_axes.set_title("Criteria evidenced", fontsize=11)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    figure.clear()
    return buffer.getvalue()


# --- /stats -------------------------------------------------------------------------------------


def stats_text(counts: Counts) -> str:
    """The /stats message."""
    return "\n".join(
        [
            "Aftercare Coach – statistics",
            f"Learners: {counts.learners:,}",
            f"Active in the last 7 days: {counts.active_7_days:,}",
            f"Answers today (UTC): {counts.answers_today:,}",
            f"Answers in total: {counts.answers_total:,}",
            f"Scenarios finished: {counts.runs_total:,}",
            f"Quiz pushes pending: {counts.pushes_pending:,}",
        ]
    )
