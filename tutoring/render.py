"""Texts and keyboards of the review queue: for tutors (one item per message) and for the
learner told of a decision. Plain text; transports escape it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from flows.io import Button, Reply
from flows.render import OUTCOME_MARKS
from knowledge.loader import KnowledgeBase
from knowledge.models import AnyQuestion
from tutoring.actions import Decide, NoComment, Skip
from tutoring.ports import ReviewItem

LABELS = {"correct": "Correct", "partial": "Partial", "incorrect": "Incorrect"}
ANSWER_MAX = 1500
# The last line of an item awaiting a comment; a tutor's reply to it is read back by this.
REF_RE = re.compile(r"ref (\d+)\.(\d+)\.(\d+)\s*$")
NOT_STAFF = "Sorry, /review is only for tutors."
USAGE = "Use /review to go through your cohorts' queue, or /review COHORT for one cohort."


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def verdict_label(outcome: str) -> str:
    return f"{OUTCOME_MARKS.get(outcome, '')} {LABELS.get(outcome, outcome)}".strip()


def item_text(item: ReviewItem, question: AnyQuestion | None, scope: str, left: int) -> str:
    """One queue item: question, answer, the machine's verdict and why, reason, model answer."""
    why = "🙋 Appealed by the learner" if item.appealed_at else "🚩 Flagged by the marker"
    lines = [
        f"📝 Review – {scope} ({left} open)",
        f"{why} · {item.learner_name or 'learner'} (id {item.learner_id}) · {item.source}",
        "",
        f"❓ {question.prompt if question else item.question_id}",
        "",
        f"💬 “{_clip(item.answer, ANSWER_MAX)}”",
        "",
        f"🤖 Marked: {verdict_label(item.machine_outcome)} ({round(item.machine_score * 100)}%)",
    ]
    if item.unrecognised:
        lines.append(f"Not recognised: {'; '.join(item.unrecognised)}")
    if item.reason:
        lines.append(f"🙋 Learner's reason: “{item.reason}”")
    if question is not None:
        lines += ["", f"📖 Model answer: {question.model_answer}"]
    return "\n".join(lines)


def item_reply(
    item: ReviewItem, question: AnyQuestion | None, scope: str, left: int, cohort: int
) -> Reply:
    ids = {"learner": item.learner_id, "ask": item.ask_seq, "cohort": cohort}
    return Reply(
        text=item_text(item, question, scope, left),
        buttons=(
            (
                Button(label="✅ Correct", data=Decide(verdict="c", **ids).pack()),
                Button(label="🟡 Partial", data=Decide(verdict="p", **ids).pack()),
                Button(label="❌ Incorrect", data=Decide(verdict="i", **ids).pack()),
            ),
            (Button(label="⏭ Skip", data=Skip(**ids).pack()),),
        ),
    )


def ask_comment(item: ReviewItem, question: AnyQuestion | None, cohort: int) -> Reply:
    """The item, decided: the tutor replies to it with a comment, or taps No comment."""
    assert item.decision is not None
    ids = {"learner": item.learner_id, "ask": item.ask_seq, "cohort": cohort}
    text = (
        f"❓ {question.prompt if question else item.question_id}\n"
        f"💬 “{_clip(item.answer, 300)}”\n\n"
        f"Your decision: {verdict_label(item.decision)} (marked"
        f" {verdict_label(item.machine_outcome)}) – saved.\n"
        "Reply to this message with a comment for the learner, or tap No comment.\n"
        f"ref {item.learner_id}.{item.ask_seq}.{cohort}"
    )
    return Reply(text=text, buttons=((Button(label="No comment", data=NoComment(**ids).pack()),),))


def already_decided(item: ReviewItem, names: Mapping[int, str]) -> str:
    assert item.decision is not None
    who = names.get(item.decided_by or 0, f"tutor {item.decided_by}")
    return (
        f"Another tutor got there first: {who} decided {verdict_label(item.decision)}."
        " Their decision stands; yours was not recorded."
    )


def queue_empty(scope: str) -> str:
    return f"📝 Review – {scope}: nothing waiting. 🎉"


def open_line(count: int) -> str:
    return f"📝 Review queue: {count} open – /review" if count else "📝 Review queue: empty"


def learner_notice(
    item: ReviewItem, question: AnyQuestion | None, kb: KnowledgeBase, comment: str | None
) -> str:
    """What the learner is told when their answer has been reviewed."""
    assert item.decision is not None
    prompt = _clip(question.prompt, 200) if question else item.question_id
    changed = item.decision != item.machine_outcome
    lines = [
        "🧑‍🏫 Your tutor has reviewed your answer.",
        f"❓ {prompt}",
        f"💬 “{_clip(item.answer, 300)}”",
        "",
        f"Verdict: {verdict_label(item.decision)}"
        + (
            f" (it was marked {verdict_label(item.machine_outcome)})"
            if changed
            else " – as marked"
        ),
    ]
    if comment:
        lines.append(f"Tutor's comment: “{comment}”")
    if changed:
        lines.append("Your progress now counts the tutor's verdict.")
    entries = [kb.entries[e] for e in question.entries if e in kb.entries] if question else []
    if entries:
        entry = entries[0]
        lines += ["", f"📖 {entry.title} ({entry.citation})", entry.summary]
    return "\n".join(lines)


def history_line(item: ReviewItem) -> str | None:
    """The history of an answer's verdict, for /learner and the assessor's evidence."""

    def day(moment: datetime) -> str:
        return f"{moment.day} {moment:%b %Y}"

    machine = LABELS.get(item.machine_outcome, item.machine_outcome).lower()
    if item.decision is not None and item.decided_at is not None:
        decision = LABELS[item.decision].lower()
        how = "confirmed as" if item.decision == item.machine_outcome else "corrected to"
        line = (
            f"marked {machine} automatically, {how} {decision} by tutor {item.decided_by}"
            f" on {day(item.decided_at)}"
        )
        return f"{line}: {item.comment}" if item.comment else line
    if item.appealed_at is not None:
        return f"marked {machine} automatically; the learner appealed on {day(item.appealed_at)}"
    return None


def history_notes(items: Sequence[ReviewItem]) -> dict[tuple[str, datetime], str]:
    """History lines by (question id, answered at): how reports find an answer's."""
    notes = {}
    for item in items:
        line = history_line(item)
        if line is not None:
            notes[item.question_id, item.created_at] = line
    return notes
