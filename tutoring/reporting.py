"""Progress reports for tutors (their cohorts) and admins (everyone). Every call checks roles."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flows.io import Button, Document, Reply
from knowledge.loader import KnowledgeBase
from tutoring import reports
from tutoring.cohorts import RANK, find_cohort
from tutoring.ids import parse_id
from tutoring.ports import Cohort, LearnerSummary, ReportStore, ReviewStore, StaffStore
from tutoring.render import history_notes
from tutoring.revision import Revision
from tutoring.staff import refusal

PAGE_PREFIX = "rp"


@dataclass(frozen=True, slots=True)
class Scope:
    """The learners a report covers and how to name them."""

    title: str
    cohort: Cohort | None
    learner_ids: frozenset[int] | None
    """None: everyone (admins only)."""


class ReportDesk:
    """/progress, /learner, /criteria, /export, /evidence, /chart and /stats."""

    def __init__(
        self,
        staff: StaffStore,
        store: ReportStore,
        kb: KnowledgeBase,
        scenario_titles: dict[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        reviews: ReviewStore | None = None,
        revision: Revision | None = None,
    ) -> None:
        """`reviews`: where the history of reviewed verdicts comes from (/learner, /evidence)."""
        self.staff = staff
        self.store = store
        self.kb = kb
        self.titles = scenario_titles
        self.clock = clock
        self.reviews = reviews
        self.revision = revision

    async def is_staff(self, user_id: int) -> bool:
        return RANK[await self.staff.role_of(user_id)] >= RANK["tutor"]

    async def _scope(self, user_id: int, cohort_word: str | None) -> Scope | str:
        """What the caller may see, or the reason they may not."""
        refused = await refusal(self.staff, user_id, "tutor", "report")
        if refused is not None:
            return refused
        cohorts = await self.staff.visible_cohorts(user_id)
        if cohort_word:
            chosen = find_cohort(cohorts, cohort_word)
            if chosen is None:
                return f"No cohort “{cohort_word}” that you can see. /cohort list shows yours."
            members = await self.staff.members(chosen)
            return Scope(chosen.name, chosen, frozenset(m.learner_id for m in members))
        if await self.staff.role_of(user_id) == "admin":
            return Scope("All learners", None, None)
        learners: set[int] = set()
        for cohort in cohorts:
            learners.update(m.learner_id for m in await self.staff.members(cohort))
        return Scope("Your cohorts", None, frozenset(learners))

    async def _rows(self, scope: Scope) -> list[LearnerSummary]:
        if scope.cohort is not None:
            return await self.store.learner_summaries(scope.cohort.id)
        rows = await self.store.learner_summaries()
        if scope.learner_ids is None:
            return rows
        return [r for r in rows if r.learner_id in scope.learner_ids]

    async def _learner_in_scope(self, user_id: int, word: str) -> int | str:
        scope = await self._scope(user_id, None)
        if isinstance(scope, str):
            return scope
        learner_id = parse_id(word)
        if learner_id is None:
            return "Give the learner's numeric id (see /progress or /cohort members)."
        if scope.learner_ids is not None and learner_id not in scope.learner_ids:
            return f"Learner {learner_id} is not in your cohorts."
        return learner_id

    # --- commands -------------------------------------------------------------------------------

    async def progress(self, user_id: int, cohort_word: str | None, page: int = 0) -> Reply:
        scope = await self._scope(user_id, cohort_word)
        if isinstance(scope, str):
            return Reply(text=scope)
        rows = await self._rows(scope)
        statuses = None
        if self.revision is not None:
            statuses = await self.revision.statuses([row.learner_id for row in rows])
        pages = reports.progress_pages(rows, self.kb, title=scope.title, revision=statuses)
        page = max(0, min(page, len(pages) - 1))
        return Reply(text=pages[page], buttons=_page_buttons(scope, page, len(pages)))

    async def progress_page(self, user_id: int, cohort_id: int, page: int) -> Reply:
        """A page button pressed: the role and scope are checked again, as for the command."""
        refused = await refusal(self.staff, user_id, "tutor", "report page")
        if refused is not None:
            return Reply(text=refused)
        word = None
        if cohort_id:
            visible = await self.staff.visible_cohorts(user_id)
            match = [c for c in visible if c.id == cohort_id]
            if not match:
                return Reply(text="That report is no longer available to you.")
            word = match[0].join_code
        return await self.progress(user_id, word, page)

    async def learner(self, user_id: int, word: str) -> Reply:
        learner_id = await self._learner_in_scope(user_id, word)
        if isinstance(learner_id, str):
            return Reply(text=learner_id)
        detail = await self.store.learner_detail(learner_id)
        if detail is None:
            return Reply(text=f"No learner {learner_id} has used the coach.")
        notes = await self._notes(learner_id)
        text = reports.learner_detail(detail, self.kb, scenario_titles=self.titles, notes=notes)
        if self.revision is not None:
            text = f"{await self.revision.status(learner_id)}\n\n{text}"
        return Reply(text=text)

    async def criteria(self, user_id: int, cohort_word: str | None) -> list[Reply]:
        scope = await self._scope(user_id, cohort_word)
        if isinstance(scope, str):
            return [Reply(text=scope)]
        rows = await self._rows(scope)
        counts = await self.store.criterion_counts(r.learner_id for r in rows)
        return [Reply(text=page) for page in reports.criteria_matrix(rows, counts, self.kb)]

    async def export(self, user_id: int, cohort_word: str | None) -> list[Reply]:
        scope = await self._scope(user_id, cohort_word)
        if isinstance(scope, str):
            return [Reply(text=scope)]
        rows = await self._rows(scope)
        answers = await self.store.answers_of(r.learner_id for r in rows)
        stamp = self.clock().strftime("%Y%m%d")
        return [
            _document(f"answers-{stamp}.csv", reports.answers_csv(answers, rows), scope.title),
            _document(f"progress-{stamp}.csv", reports.progress_csv(rows, self.kb), scope.title),
        ]

    async def evidence(self, user_id: int, word: str) -> Reply:
        learner_id = await self._learner_in_scope(user_id, word)
        if isinstance(learner_id, str):
            return Reply(text=learner_id)
        summary = await self.store.learner_summary(learner_id)
        if summary is None:
            return Reply(text=f"No learner {learner_id} has used the coach.")
        rows = await self.store.evidence([learner_id])
        page = reports.evidence_html(
            summary,
            rows,
            self.kb,
            scenario_titles=self.titles,
            generated_at=self.clock(),
            notes=await self._notes(learner_id),
        )
        return _document(f"evidence-{learner_id}.html", page, "Evidence checklist")

    async def chart(self, user_id: int, cohort_word: str | None) -> Reply:
        scope = await self._scope(user_id, cohort_word)
        if isinstance(scope, str):
            return Reply(text=scope)
        rows = await self._rows(scope)
        ids = None if scope.learner_ids is None else list(scope.learner_ids)
        topics = await self.store.topic_accuracy(ids)
        # matplotlib is slow and blocking: draw in a worker thread, off the event loop.
        png = await asyncio.to_thread(reports.chart_png, rows, topics, self.kb)
        return Reply(
            kind="photo",
            text=scope.title,
            document=Document(filename="progress.png", content=png, caption=scope.title),
        )

    async def _notes(self, learner_id: int) -> dict[tuple[str, datetime], str]:
        if self.reviews is None:
            return {}
        return history_notes(await self.reviews.items_of(learner_id))

    async def stats(self, user_id: int) -> Reply:
        refused = await refusal(self.staff, user_id, "admin", "/stats")
        if refused is not None:
            return Reply(text=refused)
        return Reply(text=reports.stats_text(await self.store.counts(self.clock())))


def page_data(cohort_id: int, page: int) -> str:
    return f"{PAGE_PREFIX}|{cohort_id}|{page}"


def parse_page_data(data: str) -> tuple[int, int] | None:
    """(cohort id, page) from a page button; None for anything forged."""
    parts = data.split("|")
    if len(parts) != 3 or parts[0] != PAGE_PREFIX:
        return None
    cohort_id, page = parse_id(parts[1]), parse_id(parts[2])
    if cohort_id is None or page is None:
        return None
    return cohort_id, page


def _page_buttons(scope: Scope, page: int, pages: int) -> tuple[tuple[Button, ...], ...]:
    if pages <= 1:
        return ()
    cohort_id = scope.cohort.id if scope.cohort is not None else 0
    row: list[Button] = []
    if page > 0:
        row.append(Button(label="◀ Previous", data=page_data(cohort_id, page - 1)))
    if page < pages - 1:
        row.append(Button(label="Next ▶", data=page_data(cohort_id, page + 1)))
    return (tuple(row),)


def _document(filename: str, content: bytes, caption: str) -> Reply:
    return Reply(
        kind="document",
        text=caption,
        document=Document(filename=filename, content=content, caption=caption),
    )
