"""The engine's own figures: content loading, marking, the shared machine, grouped commits
and a quiz push; each with a baseline measured in the same run."""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench.report import Figure, Report
from bot.app import build_application
from bot.telegram.delivery import PushDelivery
from flows.loader import ScenarioContent, load_scenarios
from flows.machine import ScenarioMachine, Turn
from flows.ports import AnswerRecord, Commit, LearnerProfile, SessionSnapshot
from knowledge.loader import KnowledgeBase, load_knowledge_base
from knowledge.marking import mark
from knowledge.models import ChoiceQuestion
from knowledge.search import EntrySearch
from knowledge.text import forget_recent_texts, tokenize
from storage.sqlite import SqliteProgressStore
from storage.staff import SqliteStaffStore
from tests.bot.fakes import RecordingRequest, settings_for

TESTS = Path(__file__).parent.parent / "tests"
DATA = TESTS / "knowledge" / "data" / "learner_answers.yaml"
LAW_QUERIES = TESTS / "knowledge" / "data" / "law_queries.yaml"
TEST_SCENARIOS = TESTS / "flows" / "data" / "scenarios"


def per_call(function: Callable[[], object], repeat: int) -> float:
    """Median seconds per call over five rounds."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            function()
        rounds.append((time.perf_counter() - start) / repeat)
    return statistics.median(rounds)


def bench_loading(report: Report) -> KnowledgeBase:
    start = time.perf_counter()
    kb = load_knowledge_base()
    load = time.perf_counter() - start
    start = time.perf_counter()
    for path in sorted((Path("knowledge") / "content").rglob("*.yaml")):
        yaml.safe_load(path.read_text(encoding="utf-8"))
    parse = time.perf_counter() - start
    report.add(
        Figure("content_load_ms", load * 1000, "ms", parse * 1000, "parsing the YAML alone")
    )
    return kb


def bench_marking(report: Report, kb: KnowledgeBase) -> None:
    items = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    answers = [(kb.questions[i["question_id"]], a["answer"]) for i in items for a in i["answers"]]

    def marking() -> None:
        forget_recent_texts()  # each round marks the answers as new ones
        for question, answer in answers:
            mark(question, answer)

    def keywords() -> None:  # the naive baseline: lower-case and split every answer
        for _, answer in answers:
            set(answer.lower().split())

    marked = per_call(marking, 1) / len(answers)
    naive = per_call(keywords, 20) / len(answers)
    report.add(Figure("mark_us", marked * 1e6, "µs", naive * 1e6, "lower-casing and splitting it"))


def bench_search(report: Report, kb: KnowledgeBase) -> None:
    """Building the /law index at load, and one query, against tokenising the same texts."""
    queries = [q["query"] for q in yaml.safe_load(LAW_QUERIES.read_text(encoding="utf-8"))]
    texts = [
        text
        for e in kb.entries.values()
        for text in (e.title, " . ".join(e.key_points), " . ".join(e.tags), e.summary, e.citation)
    ]

    def build() -> None:
        EntrySearch(kb.entries.values(), kb.lexicon)

    def analyse_entries() -> None:  # the text analysis the index needs, without the index
        for text in texts:
            tokenize(text)

    built, analysed = per_call(build, 1), per_call(analyse_entries, 1)
    report.add(Figure("law_index_ms", built * 1000, "ms", analysed * 1000, "tokenising entries"))

    def search() -> None:
        for query in queries:
            kb.search.find(query)

    def analyse_queries() -> None:
        for query in queries:
            tokenize(query)

    found = per_call(search, 3) / len(queries)
    tokenized = per_call(analyse_queries, 3) / len(queries)
    report.add(Figure("law_query_us", found * 1e6, "µs", tokenized * 1e6, "tokenising the query"))


def bench_engine(report: Report, content: ScenarioContent) -> None:
    shared = ScenarioMachine(content)
    answer = "30 days, the short-term right to reject"

    def attach_fire_detach() -> None:
        turn = Turn(scenario=content, facts={}, answer=answer)
        asyncio.run(shared.fire(turn, "refund", "answer_given"))

    def machine_per_message() -> None:
        turn = Turn(scenario=content, facts={}, answer=answer)
        asyncio.run(ScenarioMachine(content).fire(turn, "refund", "answer_given"))

    def loop_only() -> None:
        asyncio.run(asyncio.sleep(0))

    loop = per_call(loop_only, 200)
    shared_cost = per_call(attach_fire_detach, 200) - loop
    per_message_cost = per_call(machine_per_message, 200) - loop
    report.add(
        Figure(
            "shared_machine_us",
            shared_cost * 1e6,
            "µs",
            per_message_cost * 1e6,
            "a machine built per input",
        )
    )

    async def many_turns(count: int) -> int:
        tracemalloc.start()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(count):
            await shared.fire(
                Turn(scenario=content, facts={}, answer=answer), "refund", "answer_given"
            )
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        return grown

    async def machines_per_learner(count: int) -> int:
        tracemalloc.start()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        kept = [ScenarioMachine(content) for _ in range(count)]
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        del kept
        return grown

    growth = asyncio.run(many_turns(10_000))
    per_learner = asyncio.run(machines_per_learner(1_000)) * 10
    report.add(
        Figure(
            "machine_memory_10k_kib",
            growth / 1024,
            "KiB",
            per_learner / 1024,
            "a machine per learner",
        )
    )


def bench_storage(report: Report) -> None:
    now = datetime.now(UTC)

    def commit(learner: int, version: int) -> Commit:
        return Commit(
            learner=LearnerProfile(learner_id=learner),
            session=SessionSnapshot(learner_id=learner, version=version, updated_at=now),
            answers=(
                AnswerRecord(
                    learner_id=learner, question_id="q", answer="a", outcome="correct",
                    score=1.0, criteria=("POST:P2",), topic="goods", created_at=now,
                ),
            ),
        )  # fmt: skip

    async def run(learners: int, each: int) -> tuple[float, int]:
        with tempfile.TemporaryDirectory() as folder:
            async with SqliteProgressStore.open(Path(folder) / "bench.db") as store:

                async def learner(number: int) -> None:
                    for version in range(1, each + 1):
                        await store.apply(commit(number, version))

                start = time.perf_counter()
                await asyncio.gather(*(learner(n) for n in range(learners)))
                return time.perf_counter() - start, store.database.commits_written

    grouped, commits = asyncio.run(run(100, 10))
    alone, alone_commits = asyncio.run(run(1, 1000))
    report.add(Figure("grouped_commits_s", grouped, "s", alone, "1,000 answers from one learner"))
    report.add(Figure("grouped_transactions", commits, "", alone_commits, "one per answer"))


def bench_pushes(report: Report, kb: KnowledgeBase) -> None:
    """A push to a cohort through the recording fake (instant HTTP): what bounds it should be
    Telegram's rate (the bot's rate limiter, 29 messages a second), not our own work."""
    learners = 90
    quiz = next(
        q
        for q in kb.quizzes.values()
        if isinstance(first := kb.question(q.questions[0]), ChoiceQuestion)
        and first.fits_quiz_poll()
    )

    async def run() -> tuple[float, int, int, int]:
        with tempfile.TemporaryDirectory() as folder:
            settings = settings_for(Path(folder) / "bench.db")
            fake = RecordingRequest()
            app = build_application(settings, request=fake)
            async with app:
                await app.post_init(app)  # type: ignore[misc]
                desk = app.bot_data.push_desk
                assert desk is not None
                delivery = desk.scheduler
                assert isinstance(delivery, PushDelivery)
                store = app.bot_data.coach.store if app.bot_data.coach else None
                assert isinstance(store, SqliteProgressStore)
                staff = SqliteStaffStore(store.database)
                await staff.grant(1, "tutor", by=0)  # a push goes out only for a tutor
                cohort = await staff.create_cohort(1, "Bench")
                for learner in range(1000, 1000 + learners):
                    await staff.join(cohort, learner)
                push = await delivery.pushes.create(1, cohort.id, quiz.id, datetime.now(UTC))
                commits_before = store.database.commits_written
                fake.clear()
                start = time.perf_counter()
                await delivery.send(push.id)
                elapsed = time.perf_counter() - start
                sends = sum(1 for c in fake.calls if c.method.startswith("send"))
                sent = [d for d in await delivery.pushes.deliveries(push.id) if d.status == "sent"]
                await app.post_shutdown(app)  # type: ignore[misc]
                return elapsed, sends, len(sent), store.database.commits_written - commits_before

    elapsed, sends, delivered, commits = asyncio.run(run())
    limit = 30.0  # Telegram's ~30 messages a second
    report.add(Figure(f"push_{learners}_s", elapsed, "s", sends / limit, f"{sends} sends at 30/s"))
    report.add(Figure("push_transactions", commits, "", learners * 4, "four per learner"))
    report.details["push"] = {"learners": learners, "sends": sends, "delivered": delivered}


def bench_micro(report: Report) -> None:
    """The engine's own figures."""
    kb = bench_loading(report)
    bench_marking(report, kb)
    bench_search(report, kb)
    bench_engine(report, load_scenarios(kb, TEST_SCENARIOS)["test-kettle"])
    bench_storage(report)
    bench_pushes(report, kb)
