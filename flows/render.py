"""Every text the engine shows a learner, in one place (plain text; transports escape it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flows import placeholders
from flows.actions import (
    Appeal,
    Choose,
    Forget,
    LawTopic,
    LookBack,
    Menu,
    RestartQuiz,
    Setting,
    StartQuiz,
    StartScenario,
    StopScenario,
)
from flows.io import Button, Poll, Reply
from flows.loader import ScenarioContent, case_values
from flows.lookback import AnsweredStep
from flows.ports import AnswerRecord, ScenarioRun, StepResult
from flows.scenario import MAX_ATTEMPTS, Scenario, Step
from knowledge.choices import presented_order
from knowledge.loader import KnowledgeBase
from knowledge.models import (
    TOPIC_TITLES,
    AnyQuestion,
    ChoiceQuestion,
    Entry,
    NumericQuestion,
    OrderQuestion,
    Quiz,
    Verdict,
)
from tutoring.reminders import REMINDER_TIMES, day_list
from tutoring.revision import LearnerSettings

LETTERS = "ABCDEFGHIJ"
PERSONA_LABELS = {
    "angry": "angry customer",
    "confused": "confused customer",
    "upset": "upset customer",
    "knowledgeable": "knowledgeable customer",
    "ict-beginner": "ICT beginner",
}
OUTCOME_MARKS = {
    "correct": "✅",
    "partial": "🟡",
    "incorrect": "❌",
    "revealed": "📖",
    "skipped": "⏭",
}

PRIVACY = (
    "🔒 Privacy: we store your name and user id, your answers and your progress, so you can "
    "resume and your tutor can see your evidence. We keep them while you use the coach. "
    "/mydata sends you everything we hold; /forget erases it."
)
WELCOME = (
    "👋 Welcome to Aftercare Coach!\n\n"
    "Practise returns, refunds, repairs and complaints with customers who answer back, and learn "
    "the law behind them (Consumer Rights Act 2015, Consumer Contracts Regulations 2013, UK GDPR, "
    "Equality Act 2010).\n\n" + PRIVACY
)


def welcome_back(paused: str | None, due: int) -> str:
    """/start for someone who has been here before: what waits, not the privacy notice again
    (it stays under /privacy and /help)."""
    lines = ["👋 Welcome back to Aftercare Coach!"]
    if paused:
        lines.append(f"⏸ You left {paused} unfinished – Resume carries on.")
    if due:
        lines.append(f"🔁 {due} revision {'card is' if due == 1 else 'cards are'} due today.")
    lines.append("Your data: /mydata shows it, /forget erases it.")
    return "\n".join(lines)


HELP = (
    "How it works: pick a role-play scenario and handle the customer step by step. Type your "
    "answers or tap a button; every answer is checked against the law and good practice.\n\n"
    "/menu – main menu (pauses a scenario)\n"
    "/resume – carry on where you left off\n"
    "/hint – a hint for the current question\n"
    "/skip – skip the current question (you'll see the answer)\n"
    "/cancel – stop the current scenario or quiz\n"
    "/quiz – a quick quiz\n"
    "/law QUERY – look up the law, e.g. /law refund 14 days\n"
    "/progress – your progress and what to revise\n"
    "/revise – revise the questions that are due (spaced revision)\n"
    "/settings – your settings, e.g. /settings timezone Europe/Paris\n"
    "/mydata – your stored data\n"
    "/forget – erase your data\n"
    "/privacy – what we store about you, and why\n"
    "/help – this help"
)


# Lists end with a way back to the main menu (last, so the items keep their numbers).
BACK_ROW = (Button(label="◀ Back", data=Menu(target="main").pack()),)


def main_menu(
    text: str = "What would you like to do?", resume: bool | str = False, due: int = 0
) -> Reply:
    """The main menu; `resume` names what is paused (True: "my scenario"). A Revise entry
    joins it (last, so the others keep their places) when cards are due."""
    rows: list[tuple[Button, ...]] = []
    if resume:
        what = resume if isinstance(resume, str) else "my scenario"
        label = f"▶️ Resume {what}"
        label = label if len(label) <= 60 else label[:59] + "…"
        rows.append((Button(label=label, data=Menu(target="resume").pack()),))
    rows += [
        (Button(label="🎭 Practise a scenario", data=Menu(target="scenarios").pack()),),
        (
            Button(label="⚡ Quick quiz", data=Menu(target="quizzes").pack()),
            Button(label="📖 Learn the law", data=Menu(target="law").pack()),
        ),
        (
            Button(label="📈 My progress", data=Menu(target="progress").pack()),
            Button(label="❓ Help", data=Menu(target="help").pack()),
        ),
    ]
    if due > 0:
        rows.append((Button(label=f"🔁 Revise ({due} due)", data=Menu(target="revise").pack()),))
    return Reply(text=text, buttons=tuple(rows))


def scenario_list(
    scenarios: Mapping[str, ScenarioContent], best: Mapping[str, float] | None = None
) -> Reply:
    """The scenarios to pick from; one finished before shows ✔ and the best score."""
    best = best or {}
    rows = tuple(
        (
            Button(
                label=_scenario_label(c.scenario.title, best.get(scenario_id)),
                data=StartScenario(scenario=scenario_id).pack(),
            ),
        )
        for scenario_id, c in scenarios.items()
    )
    return Reply(text="🎭 Choose a scenario to practise:", buttons=(*rows, BACK_ROW))


def _scenario_label(title: str, best: float | None) -> str:
    if best is None:
        return title[:60]
    # The title first, so the list still reads (and sorts) by title.
    return f"{title[:50]} ✔ best {round(best * 100)}%"


def best_scores(runs: Iterable[ScenarioRun]) -> dict[str, float]:
    """Each finished scenario's best score."""
    best: dict[str, float] = {}
    for run in runs:
        best[run.scenario_id] = max(run.score, best.get(run.scenario_id, 0.0))
    return best


def quiz_list(quizzes: Iterable[Quiz]) -> Reply:
    rows = tuple(
        (Button(label=quiz.title[:60], data=StartQuiz(quiz=quiz.id).pack()),) for quiz in quizzes
    )
    return Reply(text="⚡ Choose a quick quiz:", buttons=(*rows, BACK_ROW))


def scenario_intro(scenario: Scenario, facts: Mapping[str, str]) -> str:
    case = scenario.case
    persona = scenario.persona
    text = (
        f"🎭 {scenario.title}\n{scenario.summary}\n\n"
        f"Customer: {persona.name} ({PERSONA_LABELS[persona.type]}) – {persona.description}\n"
        f"Case {case.reference}: {case.product}, {case.price}, bought {case.purchased} "
        f"({case.channel}), paid by {case.payment}."
    )
    return fill(text, case_values(scenario, facts))


def fill(text: str, values: Mapping[str, str]) -> str:
    """A text with the case's {placeholders} filled in (never a format spec; stray braces
    and unknown names stay as written)."""
    return placeholders.fill(text, values)


def question_body(
    question: AnyQuestion, show_prompt: bool = True, values: Mapping[str, str] | None = None
) -> str:
    """The question text with its options and how to answer."""
    parts = [fill(question.prompt, values or {})] if show_prompt else []
    if isinstance(question, ChoiceQuestion):
        parts.append("\n".join(f"{LETTERS[i]}) {o.text}" for i, o in enumerate(question.options)))
        if question.type == "multiple":
            parts.append("Reply with every letter that applies, e.g. A, C.")
    elif isinstance(question, OrderQuestion):
        shown = presented_order(question)
        parts.append("\n".join(f"{n}. {question.items[i]}" for n, i in enumerate(shown, start=1)))
        parts.append("Reply with the numbers in the right order, e.g. 2, 4, 1, 3.")
    elif isinstance(question, NumericQuestion):
        parts.append("Reply with the number (and unit, e.g. days).")
    return "\n\n".join(p for p in parts if p)


def choice_buttons(question: AnyQuestion, ask_seq: int) -> tuple[tuple[Button, ...], ...]:
    """Letter buttons for single-choice questions (full options are in the text)."""
    if not isinstance(question, ChoiceQuestion) or question.type != "single":
        return ()
    buttons = [
        Button(label=LETTERS[i], data=Choose(ask=ask_seq, option=i).pack())
        for i in range(len(question.options))
    ]
    return (tuple(buttons),)


def step_message(
    content: ScenarioContent, step: Step, facts: Mapping[str, str], ask_seq: int
) -> Reply:
    scenario = content.scenario
    values = case_values(scenario, facts)
    question = content.question_for(step.id)
    customer = fill(step.customer, values)
    task = fill(step.task, values)
    show_prompt = fill(question.prompt, values).strip() != task.strip()
    text = (
        f"🗣 {scenario.persona.name}: “{customer}”\n\n"
        f"📝 Your task: {task}\n\n{question_body(question, show_prompt, values)}"
    )
    return Reply(text=text.strip(), buttons=choice_buttons(question, ask_seq))


# --- looking back in a scenario run ("◀ Back" at a step not yet answered) --------------------

BACK_LABEL = "◀ Back"
CONTINUE_LABEL = "▶ Continue"
# A long answer is quoted in part: the look-back must fit one message with the step's text.
QUOTED_ANSWER_CHARACTERS = 300
LOOK_BACK_EXPIRED = (
    "That button belongs to a question you've moved on from – nothing was changed. Answer the"
    " latest question, or send /resume to see it again."
)
LOOK_BACK_STILL_COUNTS = (
    "↩️ Your answer to the current step still counts: type it, or press ▶ Continue to see that"
    " step again."
)


def with_back_button(reply: Reply, ask: int) -> Reply:
    """A scenario step's question with "◀ Back" under it (after any option buttons, so the
    letters keep their places): it shows the step answered before, changing nothing."""
    row = (Button(label=BACK_LABEL, data=LookBack(ask=ask, back=1).pack()),)
    return Reply(kind=reply.kind, text=reply.text, buttons=(*reply.buttons, row))


def step_again(content: ScenarioContent, step: Step, facts: Mapping[str, str], ask: int) -> Reply:
    """What "▶ Continue" on a look-back shows: the current step's question in place of the
    look-back (an edit of that message), with its option buttons and "◀ Back"."""
    asked = with_back_button(step_message(content, step, facts, ask), ask)
    return Reply(kind="echo", text=asked.text, buttons=asked.buttons)


def look_back(
    content: ScenarioContent,
    answered: AnsweredStep,
    facts: Mapping[str, str],
    *,
    ask: int,
    total: int,
    edit: bool,
) -> Reply:
    """A step answered earlier in this run, read-only: the customer's line and the task as
    they were asked, what the learner answered, and how it was marked. `edit`: it replaces the
    look-back pressed (going further back) rather than coming as a message of its own."""
    scenario = content.scenario
    result = answered.result
    question = content.question_for(result.step)
    asked = step_message(content, scenario.step(result.step), facts, ask).text
    lines = [
        f"⏪ Looking back: step {answered.number} of the {total} you've answered"
        f" – {step_title(scenario, result.step)}",
        "",
        asked,
        "",
    ]
    quoted = [f"“{_quoted(a.answer)}” {OUTCOME_MARKS[a.outcome]}" for a in answered.answers]
    if len(quoted) == 1:
        lines.append(f"Your answer: {quoted[0]}")
    elif quoted:
        lines.append("Your answers:")
        lines.extend(f"{n}. {line}" for n, line in enumerate(quoted, start=1))
    elif result.outcome != "skipped":
        lines.append(f"Your answer isn't stored any more. {OUTCOME_MARKS[result.outcome]}")
    if answered.feedback is not None and answered.answers:
        lines.append(f"{OUTCOME_MARKS[answered.answers[-1].outcome]} {answered.feedback}")
    if result.outcome == "skipped":
        lines.append("⏭ You skipped this step.")
    if result.outcome in {"revealed", "skipped"}:
        lines.append(f"📖 The answer: {question.model_answer}\n({question.basis})")
    lines += ["", LOOK_BACK_STILL_COUNTS]
    buttons: list[Button] = []
    if answered.number > 1:
        further = LookBack(ask=ask, back=total - answered.number + 2)
        buttons.append(Button(label=BACK_LABEL, data=further.pack()))
    buttons.append(Button(label=CONTINUE_LABEL, data=LookBack(ask=ask, back=0).pack()))
    return Reply(
        kind="echo" if edit else "message", text="\n".join(lines), buttons=(tuple(buttons),)
    )


def _quoted(answer: str) -> str:
    text = " ".join(answer.split())
    if len(text) <= QUOTED_ANSWER_CHARACTERS:
        return text
    return text[: QUOTED_ANSWER_CHARACTERS - 1].rstrip() + "…"


def verdict_text(verdict: Verdict) -> str:
    return f"{OUTCOME_MARKS[verdict.outcome]} {verdict.feedback}"


def retry_message(question: AnyQuestion, verdict: Verdict, attempts: int, ask_seq: int) -> Reply:
    left = MAX_ATTEMPTS - attempts
    tries = f"{left} {'try' if left == 1 else 'tries'} left"
    if verdict.outcome == "partial":
        text = (
            f"🟡 Good start – you have: {'; '.join(verdict.found)}.\n"
            f"Still missing: {'; '.join(verdict.missing)}.\n"
            f"Add what's missing and send your whole answer again ({tries})."
        )
    else:
        text = f"{verdict_text(verdict)}\n\n💡 Hint: {question.hint}\n\nTry again ({tries})."
    return Reply(text=text, buttons=choice_buttons(question, ask_seq))


def reveal_message(question: AnyQuestion, verdict: Verdict | None, skipped: bool) -> Reply:
    lead = "⏭ Skipped." if skipped else f"{verdict_text(verdict)}" if verdict else ""
    return Reply(
        text=f"{lead}\n\n📖 The answer: {question.model_answer}\n({question.basis})".strip()
    )


def echo_choice(asked: Reply, question: AnyQuestion, option: int, verdict: Verdict) -> Reply:
    """The message that asked the question, with the option pressed and its verdict instead of
    buttons; Telegram edits the pressed message into it, so old buttons can't be pressed."""
    assert isinstance(question, ChoiceQuestion)
    chosen = question.options[option].text if 0 <= option < len(question.options) else "?"
    letter = LETTERS[option] if 0 <= option < len(LETTERS) else "?"
    return Reply(
        kind="echo",
        text=f"{asked.text}\n\nYour answer: {letter}) {chosen} {OUTCOME_MARKS[verdict.outcome]}",
    )


def debrief(
    content: ScenarioContent,
    results: Sequence[StepResult],
    kb: KnowledgeBase,
    evidenced: Sequence[str],
) -> Reply:
    scenario = content.scenario
    score = run_score(results)
    lines = [f"🏁 Debrief: {scenario.title}", f"Score: {round(score * 100)}%", ""]
    for result in results:
        tries = f"{result.attempts} {'try' if result.attempts == 1 else 'tries'}"
        detail = (
            f"{round(result.score * 100)}%, {tries}"
            if result.outcome == "correct"
            else result.outcome
        )
        lines.append(
            f"{OUTCOME_MARKS[result.outcome]} {step_title(scenario, result.step)} – {detail}"
        )
    went_well = [
        step_title(scenario, r.step) for r in results if r.outcome == "correct" and r.attempts == 1
    ]
    lines.append("")
    lines.append(
        "👍 Went well: " + (", ".join(went_well) if went_well else "you stuck with it to the end.")
    )
    revise = revise_entries(content, results, kb)
    if revise:
        lines.append("📚 To revise:")
        lines.extend(f"• {e.title} – {e.citation}" for e in revise)
    else:
        lines.append("📚 Nothing to revise from this scenario – well done.")
    practice = [c for c in evidenced if kb.criteria[c].evidence == "practice"]
    simulated = [c for c in evidenced if c not in practice]
    lines.append("🎓 Criteria evidenced: " + (", ".join(simulated) if simulated else "none yet"))
    if practice:
        lines.append("🛠 Practised (needs workplace evidence): " + ", ".join(practice))
    return Reply(text="\n".join(lines))


# What each kind of step asks of the learner, in plain words (the debrief's step labels).
STEP_KINDS = {
    "acknowledge": "Acknowledging the customer",
    "investigate": "Finding out what happened",
    "resolve": "Putting it right",
    "reply": "Replying",
    "record": "Recording the interaction",
    "follow-up": "Following up",
    "refer": "Referring it on",
}


def step_title(scenario: Scenario, step_id: str) -> str:
    step = scenario.step(step_id)
    return f"{STEP_KINDS[step.kind]} ({step.id.replace('_', ' ')})"


def answers_given(answers: Sequence[AnswerRecord]) -> int:
    """Answers a learner gave, counting a scenario step's retries as one answer."""
    count = 0
    previous: tuple[str | None, str | None] | None = None
    for answer in answers:
        key = (answer.scenario_id, answer.step) if answer.source == "scenario" else None
        if key is None or key != previous:
            count += 1
        previous = key
    return count


def run_score(results: Sequence[StepResult]) -> float:
    if not results:
        return 0.0
    return round(sum(r.score for r in results) / len(results), 3)


def revise_entries(
    content: ScenarioContent, results: Sequence[StepResult], kb: KnowledgeBase
) -> list[Entry]:
    seen: dict[str, Entry] = {}
    for result in results:
        if result.outcome == "correct" and result.attempts == 1:
            continue
        for entry_id in content.question_for(result.step).entries:
            seen.setdefault(entry_id, kb.entries[entry_id])
    return list(seen.values())[:5]


def entry_text(entry: Entry) -> str:
    points = "\n".join(f"• {point}" for point in entry.key_points)
    return (
        f"📖 {entry.title}\n{entry.citation}\n\n{entry.summary}\n\n{points}\n\n"
        f"Source: {entry.source}"
    )


def law_topics(kb: KnowledgeBase) -> Reply:
    topics = sorted({e.topic for e in kb.entries.values()}, key=lambda t: TOPIC_TITLES[t])
    rows = tuple(
        (Button(label=TOPIC_TITLES[t][:60], data=LawTopic(topic=t).pack()),) for t in topics
    )
    return Reply(
        text="📖 Learn the law: pick a topic, or search with /law QUERY (e.g. /law refund card).",
        buttons=(*rows, BACK_ROW),
    )


def topic_entries(kb: KnowledgeBase, topic: str) -> Reply:
    entries = [e for e in kb.entries.values() if e.topic == topic]
    lines = [f"📖 {TOPIC_TITLES.get(topic, topic)}", ""]
    for entry in entries:
        lines.append(f"• {entry.title} – {entry.citation}\n  {entry.summary}")
    lines.append("\nSearch for one with /law QUERY to see its key points and source.")
    back = Button(label="◀ Back to topics", data=Menu(target="law").pack())
    return Reply(text="\n".join(lines), buttons=((back,),))


def poll_for(question: ChoiceQuestion) -> Poll:
    correct = min(question.correct_indexes)
    return Poll(
        question_id=question.id,
        question=question.prompt,
        options=tuple(o.text for o in question.options),
        correct_option=correct,
        explanation=question.explanation,
    )


def quiz_question(
    question: AnyQuestion,
    number: int,
    total: int,
    ask_seq: int,
    intro: str = "",
    *,
    header: str = "",
) -> Reply:
    """A quiz question; `intro` (the quiz's title) rides in the same message, so starting a
    quiz costs the chat one message less (Telegram allows about one per second per chat).
    `header` replaces the "Question n of N" line (a revision card has its own)."""
    header = header or f"⚡ Question {number} of {total}"
    if intro and not header.startswith(intro):
        header = f"{intro}\n\n{header}"
    if isinstance(question, ChoiceQuestion) and question.fits_quiz_poll():
        return Reply(kind="poll", text=header, poll=poll_for(question))
    return Reply(
        text=f"{header}\n\n{question_body(question)}", buttons=choice_buttons(question, ask_seq)
    )


def resume_or_restart(quiz: Quiz, number: int) -> Reply:
    """The same quiz picked again while it is part-way through."""
    return Reply(
        text=f"⚡ You're part-way through “{quiz.title}” (question {number} of"
        f" {len(quiz.questions)}). Carry on, or start it again?",
        buttons=(
            (
                Button(label="▶️ Carry on", data=Menu(target="resume").pack()),
                Button(label="🔄 Start again", data=RestartQuiz(quiz=quiz.id).pack()),
            ),
        ),
    )


def quiz_intro(title: str, description: str) -> str:
    return f"⚡ {title}: {description}"


def pushed_quiz_intro(
    title: str, description: str, paused_scenario: str | None, left_quiz: str | None = None
) -> str:
    text = f"📣 Your tutor has sent you a quiz – {title}: {description}"
    if paused_scenario:
        text += f"\n(Your scenario “{paused_scenario}” is paused: /resume it after the quiz.)"
    if left_quiz:
        text += f"\n(“{left_quiz}” was left unfinished; your answers to it are saved.)"
    return text


SENT_AGAIN = "(sent again in case you missed it)"


def quiz_to_revise(entries: Sequence[Entry], asked: int, cards: bool) -> str:
    """What a quiz's summary adds: the entries behind the questions missed, and (with spaced
    revision on) that its questions are now cards."""
    lines = [""]
    if entries:
        lines.append("📚 To revise:")
        lines.extend(f"• {e.title} – {e.citation}" for e in entries[:5])
    if cards:
        became = (
            "This question is now a revision card"
            if asked == 1
            else (f"These {asked} questions are now revision cards")
        )
        lines.append(
            f"🔁 {became}: what you missed comes back tomorrow, the rest in a few days (/revise)."
        )
    return "\n".join(lines) if len(lines) > 1 else ""


def quiz_summary(title: str, correct: int, asked: int, pushed: bool) -> str:
    summary = f"🏁 {title}: {correct} of {asked} correct."
    if pushed:
        summary += " Your tutor can see your answers."
    return summary


def progress_report(
    answers: Sequence[AnswerRecord],
    runs: Sequence[ScenarioRun],
    kb: KnowledgeBase,
    titles: Mapping[str, str] | None = None,
) -> Reply:
    """A learner's own progress; scenarios by their titles (`titles`), never by ids."""
    if not answers and not runs:
        return main_menu("📈 No progress yet – try a scenario or a quick quiz to get started.")
    titles = titles or {}
    finished = sorted({titles.get(run.scenario_id, run.scenario_id) for run in runs})
    lines = [
        "📈 Your progress",
        f"Scenarios completed: {len(finished)}"
        + (f" ({', '.join(finished)})" if finished else ""),
        f"Answers given: {answers_given(answers)}",
        "",
        "Accuracy by topic:",
    ]
    by_topic: dict[str, list[AnswerRecord]] = {}
    for answer in answers:
        if answer.outcome in {"correct", "partial", "incorrect"}:
            by_topic.setdefault(answer.topic, []).append(answer)
    accuracy: dict[str, float] = {}
    for topic, items in sorted(by_topic.items()):
        correct = sum(1 for a in items if a.outcome == "correct")
        accuracy[topic] = correct / len(items)
        title = TOPIC_TITLES.get(topic, topic)
        lines.append(f"• {title}: {round(100 * accuracy[topic])}% ({correct}/{len(items)})")
    evidenced = sorted(
        {
            code
            for a in answers
            if a.outcome == "correct"
            for code in a.criteria
            if code in kb.criteria and kb.criteria[code].evidence == "simulation"
        }
    )
    total = sum(1 for c in kb.criteria.values() if c.evidence == "simulation")
    lines += ["", f"Criteria evidenced: {len(evidenced)} of {total}"]
    lines.extend(f"• {code} – {kb.criteria[code].title}" for code in evidenced)
    weakest = [t for t, share in sorted(accuracy.items(), key=lambda kv: kv[1]) if share < 0.8][:2]
    if weakest:
        lines += ["", "What to revise next:"]
        for topic in weakest:
            entries = [e for e in kb.entries.values() if e.topic == topic][:2]
            lines.extend(f"• {e.title} – {e.citation}" for e in entries)
    return Reply(text="\n".join(lines))


def cancel_confirm(title: str, answered: int, ask: int) -> Reply:
    return Reply(
        text=f"⚠️ You're well into “{title}” ({answered} steps answered). Stop it anyway? Your"
        " answers so far are kept either way.",
        buttons=(
            (
                Button(label="Yes, stop it", data=StopScenario(confirm="yes", ask=ask).pack()),
                Button(label="No, carry on", data=StopScenario(confirm="no", ask=ask).pack()),
            ),
        ),
    )


def forget_confirm(ask: int) -> Reply:
    return Reply(
        text="⚠️ Erase everything we hold about you (your answers, progress and scenario)? "
        "This cannot be undone.",
        buttons=(
            (
                Button(label="Yes, erase it", data=Forget(confirm="yes", ask=ask).pack()),
                Button(label="No, keep it", data=Forget(confirm="no", ask=ask).pack()),
            ),
        ),
    )


# --- appeals ("I think this is right") ---------------------------------------------------------

APPEAL_LABEL = "🙋 I think this is right"
NO_REVIEWER = (
    "There's nobody to review your answers yet: you're not in a cohort with a tutor. Ask your"
    " tutor for their join link – the 🙋 button comes back once you've joined."
)
APPEAL_ALREADY = "You've already sent this answer to your tutor – they'll get back to you."
APPEAL_UNKNOWN = "I can't find that answer any more, so it can't be sent for review."
REASON_EMPTY = "No reason added – your tutor will still review the answer."


def with_appeal_button(replies: Sequence[Reply], ask: int) -> list[Reply]:
    """Add the appeal button to the message the verdict goes out in: transports join a text
    without buttons to the message after it, so that is the first one with buttons (or the last
    message); the button then costs no Bot API call of its own."""
    messages = [i for i, r in enumerate(replies) if r.kind == "message"]
    if not messages:
        return list(replies)
    buttoned = [i for i in messages if replies[i].buttons]
    target = buttoned[0] if buttoned else messages[-1]
    row = (Button(label=APPEAL_LABEL, data=Appeal(ask=ask).pack()),)
    reply = replies[target]
    changed = Reply(text=reply.text, buttons=(*reply.buttons, row))
    return [*replies[:target], changed, *replies[target + 1 :]]


def appeal_sent() -> Reply:
    return Reply(
        text="🙋 Sent to your tutor's review queue – you'll hear back here.\n"
        "If you like, type one line saying why you think it's right (or tap Carry on).",
        buttons=((Button(label="▶️ Carry on", data=Menu(target="resume").pack()),),),
    )


def reason_added(added: bool, open_question: bool) -> Reply:
    text = (
        "📝 Thanks – your tutor will see your reason."
        if added
        else "Your tutor has already dealt with that answer, so the reason wasn't added."
    )
    if open_question:
        text += " Carry on with the question above when you're ready (/resume shows it again)."
    return Reply(text=text)


# --- spaced revision --------------------------------------------------------------------------

GRADE_MARKS = {"good": "✅", "hard": "🟡", "again": "🔁"}
SETTINGS_USAGE = (
    "⚙️ Settings: /settings reminder 18:00 (or off), /settings quiet sat sun (or none),"
    " /settings timezone Europe/Paris (any IANA name, or default for the centre's). Nothing"
    " was changed."
)


def revision_intro(count: int) -> str:
    cards = "card" if count == 1 else "cards"
    return f"🔁 Revision: {count} {cards} due, from what you answered before."


def card_header(number: int, total: int, intro: str = "") -> str:
    header = f"🔁 Card {number} of {total}"
    return f"{intro}\n\n{header}" if intro else header


def when(moment: datetime, zone: ZoneInfo, today: date | None = None) -> str:
    """A due date as a learner reads it: 'tomorrow', 'in 11 days (Tue 17 Mar)'."""
    local = moment.astimezone(zone).date()
    if today is None:
        return local.strftime("%a %d %b")
    days = (local - today).days
    if days <= 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"in {days} days ({local.strftime('%a %d %b')})"


def streak_line(days: int) -> str:
    if days == 0:
        return "🔥 Streak: none yet – answer something today to start one."
    return f"🔥 Streak: {days} {'day' if days == 1 else 'days'} in a row."


def nothing_due(later: datetime | None, zone: ZoneInfo) -> str:
    if later is None:
        return (
            "🔁 Nothing to revise yet: every question you answer in a scenario or quiz becomes a"
            " revision card, brought back just before you would forget it."
        )
    return f"🔁 Nothing is due today – your next revision is on {when(later, zone)}."


def revision_summary(
    cards: Sequence[tuple[str, str, datetime]],
    later: datetime | None,
    streak_days: int,
    *,
    zone: ZoneInfo,
    today: date,
) -> str:
    """The end of a /revise session: each card's grade and when it comes back."""
    remembered = sum(1 for _, grade, _ in cards if grade != "again")
    lines = [f"🏁 Revision done: {remembered} of {len(cards)} remembered.", ""]
    for title, grade, due in cards:
        back = "back " + when(due, zone, today)
        lines.append(f"{GRADE_MARKS.get(grade, '🔁')} {title} – {back}")
    lines.append("")
    if later is not None:
        lines.append(f"📅 Next cards due {when(later, zone, today)}.")
    lines.append(streak_line(streak_days))
    return "\n".join(lines)


def revision_status(streak_days: int, due: int, later: datetime | None, zone: ZoneInfo) -> str:
    """The revision lines of /progress."""
    lines = [streak_line(streak_days)]
    if due:
        lines.append(f"🔁 {due} revision {'card is' if due == 1 else 'cards are'} due: /revise")
    elif later is not None:
        lines.append(f"🔁 Nothing due today; next revision {when(later, zone)}.")
    return "\n".join(lines)


def settings_reply(settings: LearnerSettings, zone_name: str, *, saved: bool = False) -> Reply:
    """The learner's settings, with buttons for the reminder time and quiet days."""
    zone = f"{zone_name}{' (the centre’s)' if settings.timezone is None else ''}"
    if settings.remind_at is None:
        reminder = "off"
    else:
        reminder = f"every day at {settings.remind_at}, only when something is due or paused"
    lines = ["✅ Saved." if saved else "⚙️ Your settings", ""]
    lines += [
        f"🕒 Time zone: {zone} – revision days follow it.",
        f"🔔 Reminder: {reminder}.",
        f"🤫 Quiet days: {day_list(settings.quiet_days)}.",
        "",
        "Tap a time for a daily reminder, or type one: /settings reminder 07:15."
        " Time zone: /settings timezone Europe/Paris. Quiet days: /settings quiet sat sun.",
    ]
    times = tuple(
        Button(label=at, data=Setting(key="remind", value=at.replace(":", "")).pack())
        for at in REMINDER_TIMES
    )
    return Reply(
        text="\n".join(lines),
        buttons=(
            times,
            (
                Button(label="🔕 No reminder", data=Setting(key="remind", value="off").pack()),
                Button(label="🤫 Quiet Sat, Sun", data=Setting(key="quiet", value="56").pack()),
                Button(label="No quiet days", data=Setting(key="quiet", value="none").pack()),
            ),
        ),
    )


QUIET_USAGE = (
    "🤔 Name the quiet days by their first letters, e.g. /settings quiet sat sun (at least one"
    " day must stay open), or /settings quiet none. Nothing was changed."
)


def unknown_time(text: str) -> str:
    return (
        f"🤔 “{text[:20]}” is not a time of day. Type it like 18:00 or 7:15, or off – nothing"
        " was changed."
    )


def reminder(due: int, paused: str | None) -> Reply:
    """The daily reminder: one short message with the button that starts it."""
    if due:
        cards = "card is" if due == 1 else "cards are"
        text = f"🔔 {due} revision {cards} due today – a few minutes now keeps them fresh."
        button = Button(label=f"🔁 Revise ({due} due)", data=Menu(target="revise").pack())
    else:
        text = f"🔔 You left {paused} unfinished – carry on where you stopped?"
        button = Button(label="▶️ Resume", data=Menu(target="resume").pack())
    text += "\n(Change or stop reminders: /settings)"
    return Reply(text=text, buttons=((button,),))


def unknown_zone(name: str) -> str:
    return (
        f"🤔 I don't know the time zone “{name[:60]}”. Use an IANA name such as Europe/London"
        " or America/New_York – nothing was changed."
    )
