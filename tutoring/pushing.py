"""Tutors' quiz pushes: /push (guided or with arguments), /pushes, cancel, report and re-send.

Every command and button checks the caller's role and that the push's cohort is theirs (admins:
any). Sending is the scheduler's job (`bot/telegram/delivery.py`); this desk only decides.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from flows.actions import Action, registry
from flows.io import Button, Reply
from knowledge.loader import KnowledgeBase
from knowledge.models import Quiz
from tutoring.cohorts import find_cohort
from tutoring.ids import parse_id
from tutoring.ports import Cohort, Delivery, Push, PushAnswer, PushStore, StaffStore
from tutoring.staff import refusal

log = logging.getLogger(__name__)

PUSH_HELP = (
    "Push a quiz to a cohort:\n"
    "/push – step by step, with buttons\n"
    "/push QUIZ COHORT – send now\n"
    "/push QUIZ COHORT YYYY-MM-DD HH:MM – at that time ({zone})\n"
    "/push QUIZ COHORT HH:MM, or tomorrow HH:MM\n"
    "/pushes – scheduled and recent pushes\n"
    "/push cancel ID · /push report ID · /push resend ID [failed]\n"
    "COHORT is the cohort's name or join code. Quizzes: {quizzes}"
)
# A tap on "Now" twice within this long makes one push, not two.
DOUBLE_TAP = timedelta(seconds=60)
# A push sent this long after its time (the bot was down) is reported as late.
LATE_AFTER = timedelta(minutes=2)
# Further ahead than this is almost certainly a typo in the year.
MAX_AHEAD = timedelta(days=366)
MORNING = time(9, 0)
LABEL_MAX = 60
RECENT_LIMIT = 10
NAMES_SHOWN = 30
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


# --- buttons ------------------------------------------------------------------------------------


class PushQuiz(Action):
    """Step 1 done: the quiz is chosen."""

    prefix = "pq"
    quiz: str


class PushCohort(Action):
    """Step 2 done: the cohort is chosen."""

    prefix = "pc"
    quiz: str
    cohort: int


class PushWhen(Action):
    """Step 3: when to send."""

    prefix = "pw"
    quiz: str
    cohort: int
    when: Literal["now", "1h", "9am"]


class PushCancel(Action):
    prefix = "px"
    push: int


class PushReport(Action):
    prefix = "pr"
    push: int


class PushResend(Action):
    """Re-send to everyone who hasn't answered."""

    prefix = "ps"
    push: int


class PushResendUnreached(Action):
    """Re-send only to those the push did not reach (failed, or not confirmed)."""

    prefix = "pu"
    push: int


PUSH_ACTIONS = registry(
    PushQuiz, PushCohort, PushWhen, PushCancel, PushReport, PushResend, PushResendUnreached
)
BUTTON_PATTERN = r"^p[qcwxrsu]\|"
UNREACHED_WORDS = frozenset({"failed", "unreached"})


class PushScheduler(Protocol):
    """Arms and disarms the timer that sends a push (PTB's JobQueue in the bot)."""

    def arm(self, push: Push) -> None: ...

    def disarm(self, push_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class QuestionStat:
    question_id: str
    prompt: str
    answered: int
    correct: int


# --- the desk -----------------------------------------------------------------------------------


class PushDesk:
    """The logic behind /push and /pushes and their buttons; returns what to show."""

    def __init__(
        self,
        staff: StaffStore,
        pushes: PushStore,
        kb: KnowledgeBase,
        *,
        scheduler: PushScheduler,
        zone: ZoneInfo,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.staff = staff
        self.pushes = pushes
        self.kb = kb
        self.scheduler = scheduler
        self.zone = zone
        self.clock = clock

    async def _refusal(self, user_id: int, what: str) -> Reply | None:
        refused = await refusal(self.staff, user_id, "tutor", what)
        return Reply(text=refused) if refused is not None else None

    def help(self) -> Reply:
        quizzes = ", ".join(sorted(self.kb.quizzes))
        return Reply(text=PUSH_HELP.format(zone=self.zone.key, quizzes=quizzes))

    # --- /push and /pushes ----------------------------------------------------------------------

    async def command(self, user_id: int, args: list[str]) -> Reply:
        refusal = await self._refusal(user_id, "/push")
        if refusal is not None:
            return refusal
        if not args:
            return await self._choose_quiz(user_id)
        head = args[0].lower()
        if head in {"cancel", "report", "resend"}:
            unreached = head == "resend" and len(args) == 3 and args[2].lower() in UNREACHED_WORDS
            push_id = parse_id(args[1], prefix="#") if len(args) == 2 or unreached else None
            if push_id is None:
                return Reply(text=f"Give the push number, e.g. /push {head} 12 (see /pushes).")
            if head == "cancel":
                return await self._cancel(user_id, push_id)
            if head == "report":
                return await self._report(user_id, push_id)
            return await self._resend(user_id, push_id, unreached_only=unreached)
        if head == "help" or len(args) < 2:
            return self.help()
        return await self._from_arguments(user_id, args)

    async def listing(self, user_id: int) -> Reply:
        refusal = await self._refusal(user_id, "/pushes")
        if refusal is not None:
            return refusal
        cohorts = {c.id: c for c in await self.staff.visible_cohorts(user_id)}
        admin = await self.staff.role_of(user_id) == "admin"
        recent = await self.pushes.recent(None if admin else list(cohorts), RECENT_LIMIT)
        if not recent:
            return Reply(text="No pushes yet. Send /push to push a quiz to a cohort.")
        lines = ["📣 Pushes (newest first; scheduled ones at the top):"]
        rows: list[tuple[Button, ...]] = []
        tallies = await self.pushes.tallies([p.id for p in recent])
        for push in recent:
            cohort = cohorts.get(push.cohort_id)
            line = "• " + self._summary_line(push, cohort)
            tally = tallies.get(push.id)
            if tally is not None and push.status in {"sent", "sending"}:
                line += f" · delivered {tally.sent}/{tally.deliveries}, answered {tally.answered}"
            lines.append(line)
            if push.status == "scheduled":
                rows.append((Button(label=f"✖ Cancel #{push.id}", data=_pack(PushCancel, push)),))
            elif push.status in {"sent", "sending"}:
                rows.append((Button(label=f"📊 Report #{push.id}", data=_pack(PushReport, push)),))
        return Reply(text="\n".join(lines), buttons=tuple(rows))

    async def press(self, user_id: int, action: Action) -> Reply:
        """A push button: the role and the cohort are checked again, as for a command."""
        refusal = await self._refusal(user_id, "push button")
        if refusal is not None:
            return refusal
        if isinstance(action, PushQuiz):
            return await self._choose_cohort(user_id, action.quiz)
        if isinstance(action, PushCohort):
            return await self._choose_time(user_id, action.quiz, action.cohort)
        if isinstance(action, PushWhen):
            cohort = await self._own_cohort(user_id, action.cohort)
            if cohort is None:
                return Reply(text="That cohort is not one of yours any more. Send /push again.")
            return await self._schedule(user_id, action.quiz, cohort, self._preset(action.when))
        if isinstance(action, PushCancel):
            return await self._cancel(user_id, action.push)
        if isinstance(action, PushReport):
            return await self._report(user_id, action.push)
        if isinstance(action, PushResendUnreached):
            return await self._resend(user_id, action.push, unreached_only=True)
        assert isinstance(action, PushResend)
        return await self._resend(user_id, action.push)

    # --- the guided steps -----------------------------------------------------------------------

    async def _choose_quiz(self, user_id: int) -> Reply:
        if not await self.staff.visible_cohorts(user_id):
            return Reply(text="You have no cohorts yet. Create one with /cohort new NAME first.")
        rows = tuple(
            (Button(label=_label(quiz.title), data=PushQuiz(quiz=quiz.id).pack()),)
            for quiz in sorted(self.kb.quizzes.values(), key=lambda q: q.title)
        )
        return Reply(text="📣 Push a quiz – step 1 of 3: which quiz?", buttons=rows)

    async def _choose_cohort(self, user_id: int, quiz_id: str) -> Reply:
        quiz = self.kb.quizzes.get(quiz_id)
        if quiz is None:
            return Reply(text="That quiz is no longer available. Send /push to start again.")
        cohorts = await self.staff.visible_cohorts(user_id)
        if not cohorts:
            return Reply(text="You have no cohorts yet. Create one with /cohort new NAME first.")
        rows = []
        for cohort in cohorts:
            size = len(await self.staff.members(cohort))
            action = PushCohort(quiz=quiz.id, cohort=cohort.id)
            rows.append((Button(label=_label(f"{cohort.name} ({size})"), data=action.pack()),))
        return Reply(
            text=f"📣 Step 2 of 3: send “{quiz.title}” to which cohort?", buttons=tuple(rows)
        )

    async def _choose_time(self, user_id: int, quiz_id: str, cohort_id: int) -> Reply:
        quiz = self.kb.quizzes.get(quiz_id)
        cohort = await self._own_cohort(user_id, cohort_id)
        if quiz is None or cohort is None:
            return Reply(text="That choice is no longer available. Send /push to start again.")
        tomorrow = self._preset("9am")

        def when(label: str, key: Literal["now", "1h", "9am"]) -> Button:
            return Button(
                label=label, data=PushWhen(quiz=quiz.id, cohort=cohort.id, when=key).pack()
            )

        rows = (
            (when("Now", "now"), when("In 1 hour", "1h")),
            (when(f"{tomorrow:%a %d %b} 09:00", "9am"),),
        )
        return Reply(
            text=f"📣 Step 3 of 3: when should “{quiz.title}” go to {cohort.name}?\n"
            f"For another time send /push {quiz.id} {cohort.join_code} YYYY-MM-DD HH:MM"
            f" ({self.zone.key}).",
            buttons=rows,
        )

    def _preset(self, key: Literal["now", "1h", "9am"]) -> datetime:
        now = self.clock()
        if key == "now":
            return now
        if key == "1h":
            return now + timedelta(hours=1)
        local = now.astimezone(self.zone)
        return datetime.combine(local.date() + timedelta(days=1), MORNING, tzinfo=self.zone)

    # --- scheduling -----------------------------------------------------------------------------

    async def _from_arguments(self, user_id: int, args: list[str]) -> Reply:
        quiz = self.kb.quizzes.get(args[0].lower())
        if quiz is None:
            return Reply(
                text=f"There's no quiz “{args[0]}”. Quizzes: {', '.join(sorted(self.kb.quizzes))}"
            )
        words = args[1:]
        parsed = parse_when(words, self.clock(), self.zone)
        if isinstance(parsed, str):
            return Reply(text=parsed)
        send_at, used = parsed
        cohort_word = " ".join(words[: len(words) - used])
        if not cohort_word:
            return self.help()
        cohort = find_cohort(await self.staff.visible_cohorts(user_id), cohort_word)
        if cohort is None:
            return Reply(text=f"No cohort “{cohort_word}” that you can push to. /cohort list")
        return await self._schedule(user_id, quiz.id, cohort, send_at)

    async def _schedule(
        self, user_id: int, quiz_id: str, cohort: Cohort, send_at: datetime
    ) -> Reply:
        quiz = self.kb.quizzes.get(quiz_id)
        if quiz is None:
            return Reply(text="That quiz is no longer available. Send /push to start again.")
        now = self.clock()
        earlier = await self.pushes.similar_recent(user_id, cohort.id, quiz.id, now - DOUBLE_TAP)
        if earlier is not None and abs(earlier.send_at - send_at) < DOUBLE_TAP:
            return Reply(
                text=f"That push is already made: #{earlier.id}. /pushes shows it.",
                buttons=self._push_buttons(earlier),
            )
        push = await self.pushes.create(user_id, cohort.id, quiz.id, max(send_at, now))
        self.scheduler.arm(push)
        size = len(await self.staff.members(cohort))
        log.info("push %s: %s to cohort %s at %s", push.id, quiz.id, cohort.id, push.send_at)
        if push.send_at <= now:
            text = (
                f"📣 Push #{push.id}: sending “{quiz.title}” to {cohort.name} ({size} learners)"
                " now. I'll tell you when it's done; /push report"
                f" {push.id} shows who has answered."
            )
        else:
            text = (
                f"✅ Push #{push.id} scheduled: “{quiz.title}” to {cohort.name} ({size} learners)"
                f" at {self._local(push.send_at)}."
            )
        return Reply(text=text, buttons=self._push_buttons(push))

    def _push_buttons(self, push: Push) -> tuple[tuple[Button, ...], ...]:
        if push.status == "scheduled" and push.send_at > self.clock():
            return ((Button(label=f"✖ Cancel #{push.id}", data=_pack(PushCancel, push)),),)
        return ((Button(label=f"📊 Report #{push.id}", data=_pack(PushReport, push)),),)

    async def _cancel(self, user_id: int, push_id: int) -> Reply:
        found = await self._own_push(user_id, push_id)
        if isinstance(found, Reply):
            return found
        push, _ = found
        if not await self.pushes.cancel(push.id):
            return Reply(
                text=f"Push #{push.id} is {push.status}; only a scheduled push can be cancelled."
            )
        self.scheduler.disarm(push.id)
        return Reply(text=f"✖ Push #{push.id} cancelled; nothing was sent.")

    async def _resend(self, user_id: int, push_id: int, *, unreached_only: bool = False) -> Reply:
        """Send the quiz again to everyone who hasn't answered, or only to those it did not
        reach (failed, or not confirmed after a crash): no second copy for the rest."""
        found = await self._own_push(user_id, push_id)
        if isinstance(found, Reply):
            return found
        push, _ = found
        if push.status != "sent":
            return Reply(text=f"Push #{push.id} is {push.status}; re-send once it has been sent.")
        silent = _non_responders(
            await self.pushes.deliveries(push.id), await self.pushes.answers(push.id)
        )
        if unreached_only:
            silent = [d for d in silent if d.status == "failed"]
        who = "it didn't reach" if unreached_only else "who haven't answered"
        if not silent:
            nobody = (
                "It reached everyone who hasn't answered"
                if unreached_only
                else ("Everyone has answered")
            )
            return Reply(text=f"{nobody} push #{push.id}: nobody to re-send to.")
        reopened = await self.pushes.reopen(push.id, [d.learner_id for d in silent])
        again = await self.pushes.get(push.id)
        assert again is not None
        self.scheduler.arm(again)
        return Reply(
            text=f"🔁 Re-sending push #{push.id} to {reopened} learner(s) {who}."
            f" /push report {push.id} shows how it goes."
        )

    # --- the report -----------------------------------------------------------------------------

    async def _report(self, user_id: int, push_id: int) -> Reply:
        found = await self._own_push(user_id, push_id)
        if isinstance(found, Reply):
            return found
        push, cohort = found
        deliveries = await self.pushes.deliveries(push.id)
        answers = await self.pushes.answers(push.id)
        quiz = self.kb.quizzes.get(push.quiz_id)
        text = push_report(
            push, cohort, quiz, deliveries=deliveries, answers=answers, kb=self.kb, zone=self.zone
        )
        silent = _non_responders(deliveries, answers)
        unreached = [d for d in silent if d.status == "failed"]
        rows: list[tuple[Button, ...]] = []
        if push.status == "sent" and silent:
            label = f"🔁 Re-send to {len(silent)} who haven't answered"
            rows.append((Button(label=label, data=_pack(PushResend, push)),))
        if push.status == "sent" and unreached and len(unreached) < len(silent):
            label = f"🔁 Only the {len(unreached)} not reached (failed or not confirmed)"
            rows.append((Button(label=label, data=_pack(PushResendUnreached, push)),))
        return Reply(text=text, buttons=tuple(rows))

    # --- lookups --------------------------------------------------------------------------------

    async def _own_cohort(self, user_id: int, cohort_id: int) -> Cohort | None:
        matches = [c for c in await self.staff.visible_cohorts(user_id) if c.id == cohort_id]
        return matches[0] if matches else None

    async def _own_push(self, user_id: int, push_id: int) -> tuple[Push, Cohort] | Reply:
        """The push and its cohort, if the caller may see it (the same reply either way)."""
        push = await self.pushes.get(push_id)
        cohort = await self._own_cohort(user_id, push.cohort_id) if push is not None else None
        if push is None or cohort is None:
            return Reply(text=f"No push #{push_id} that you can see. /pushes lists yours.")
        return push, cohort

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%a %d %b %Y %H:%M %Z")

    def _summary_line(self, push: Push, cohort: Cohort | None) -> str:
        quiz = self.kb.quizzes.get(push.quiz_id)
        title = quiz.title if quiz is not None else push.quiz_id
        where = cohort.name if cohort is not None else f"cohort {push.cohort_id}"
        status = {
            "scheduled": "scheduled",
            "sending": "sending now",
            "sent": "sent" + (" (late)" if push.late else ""),
            "cancelled": "cancelled",
            "failed": f"failed: {push.note or 'unknown reason'}",
        }[push.status]
        return f"#{push.id} “{title}” → {where} · {self._local(push.send_at)} · {status}"


# --- pure helpers -------------------------------------------------------------------------------


def parse_when(words: list[str], now: datetime, zone: ZoneInfo) -> tuple[datetime, int] | str:
    """The send time at the end of `words` and how many words it took (0: now), or why not.

    Understood: now · HH:MM (the next time it comes round) · tomorrow [HH:MM] ·
    YYYY-MM-DD HH:MM, all in the centre's time zone.
    """
    local_now = now.astimezone(zone)
    last = words[-1].lower() if words else ""
    before = words[-2].lower() if len(words) >= 2 else ""
    moment: datetime | None = None
    used = 0
    if last == "now":
        return now, 1
    if last == "tomorrow":
        moment, used = _at(local_now.date() + timedelta(days=1), MORNING, zone), 1
    elif TIME_RE.match(last):
        clock = _clock_time(last)
        if before == "tomorrow":
            moment, used = _at(local_now.date() + timedelta(days=1), clock, zone), 2
        elif DATE_RE.match(before):
            try:
                day = date.fromisoformat(before)
            except ValueError:
                return f"{before} is not a date (use YYYY-MM-DD, e.g. 2026-12-01)."
            moment, used = _at(day, clock, zone), 2
        else:
            moment, used = _at(local_now.date(), clock, zone), 1
            if moment <= now:
                moment = _at(local_now.date() + timedelta(days=1), clock, zone)
    elif DATE_RE.match(last):
        return "Add the time after the date, e.g. 2026-12-01 09:00."
    if moment is None:
        return now, 0
    if moment < now - timedelta(minutes=1):
        return f"{moment:%Y-%m-%d %H:%M} has already passed ({zone.key}). Give a later time."
    if moment > now + MAX_AHEAD:
        return "That is more than a year ahead – check the year."
    return moment, used


def _clock_time(text: str) -> time:
    match = TIME_RE.match(text)
    assert match is not None
    return time(int(match.group(1)), int(match.group(2)))


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time in the zone, as an aware datetime (a time skipped by the clocks going
    forward lands an hour later, as people expect)."""
    wall = datetime.combine(day, clock, tzinfo=zone)
    # Through UTC: a skipped wall time (PEP 495 "gap") becomes the real instant it means.
    return wall.astimezone(UTC).astimezone(zone)


def _label(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _pack(
    kind: type[PushCancel | PushReport | PushResend | PushResendUnreached], push: Push
) -> str:
    return kind(push=push.id).pack()


def _non_responders(deliveries: list[Delivery], answers: list[PushAnswer]) -> list[Delivery]:
    answered = {a.learner_id for a in answers}
    return [d for d in deliveries if d.learner_id not in answered]


def _name(delivery: Delivery) -> str:
    name = delivery.display_name or f"learner {delivery.learner_id}"
    return f"{name} (@{delivery.username})" if delivery.username else name


def push_report(
    push: Push,
    cohort: Cohort,
    quiz: Quiz | None,
    *,
    deliveries: list[Delivery],
    answers: list[PushAnswer],
    kb: KnowledgeBase,
    zone: ZoneInfo,
) -> str:
    """The /push report text: delivery, answers, % correct per question, who is silent."""
    local = "%a %d %b %Y %H:%M %Z"
    title = quiz.title if quiz is not None else push.quiz_id
    lines = [f"📊 Push #{push.id}: “{title}” to {cohort.name}"]
    due = push.send_at.astimezone(zone).strftime(local)
    if push.status == "scheduled":
        lines.append(f"Scheduled for {due}; nothing sent yet.")
        return "\n".join(lines)
    if push.status in {"cancelled", "failed"}:
        lines.append(f"Was due {due}; {push.status}" + (f": {push.note}" if push.note else "."))
        return "\n".join(lines)
    started = push.started_at.astimezone(zone).strftime(local) if push.started_at else due
    late = " – late: the bot was offline at the due time" if push.late else ""
    lines.append(f"Due {due}; sent {started}{late}.")
    if push.status == "sending":
        lines.append("Still sending…")
    sent = [d for d in deliveries if d.status == "sent"]
    failed = [d for d in deliveries if d.status == "failed"]
    lines.append(f"Delivered: {len(sent)} of {len(deliveries)}")
    for delivery in failed[:NAMES_SHOWN]:
        lines.append(f"  ✗ {_name(delivery)}: {delivery.reason or 'failed'}")
    responders = {a.learner_id for a in answers}
    finished = Counter(a.learner_id for a in answers)
    total_questions = len(quiz.questions) if quiz is not None else 0
    done = sum(1 for count in finished.values() if count >= total_questions > 0)
    lines.append(f"Answered: {len(responders)} of {len(sent)} (all questions: {done})")
    stats = question_stats(quiz, answers, kb)
    if stats:
        lines.append("")
        lines.append("Per question (first answers):")
        for stat in stats:
            if stat.answered:
                share = f"{stat.answered} answered, {stat.correct / stat.answered:.0%} correct"
            else:
                share = "no answers yet"
            lines.append(f"• {stat.prompt} – {share}")
    silent = [d for d in deliveries if d.learner_id not in responders]
    if silent:
        lines.append("")
        lines.append(f"Not answered yet ({len(silent)}):")
        lines += [f"• {_name(d)}" for d in silent[:NAMES_SHOWN]]
        if len(silent) > NAMES_SHOWN:
            lines.append(f"…and {len(silent) - NAMES_SHOWN} more (see /export).")
    return "\n".join(lines)


def question_stats(
    quiz: Quiz | None, answers: list[PushAnswer], kb: KnowledgeBase
) -> list[QuestionStat]:
    """Answers and correct answers per question of the quiz, in the quiz's order."""
    if quiz is None:
        return []
    stats = []
    for number, question_id in enumerate(quiz.questions, start=1):
        question = kb.question(question_id)
        prompt = question.prompt if question is not None else question_id
        short = prompt if len(prompt) <= 50 else prompt[:49].rstrip() + "…"
        mine = [a for a in answers if a.question_id == question_id]
        correct = sum(1 for a in mine if a.outcome == "correct")
        stats.append(QuestionStat(question_id, f"Q{number} {short}", len(mine), correct))
    return stats
