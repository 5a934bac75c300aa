"""Three real `coach run` webhook workers on one PostgreSQL, Telegram played by the test.

50 learners each send their messages in order; every update is POSTed to the next worker in
turn and, as Telegram does, delivered again (to the next worker) on a timeout, a refused
connection or a 5xx. The first worker (the leader) is SIGKILLed a third of the way in, and
started again once everything is acknowledged (as systemd's Restart= would). Afterwards every
acknowledged update is stored once and handled, each learner's in the order sent; each
learner got one reply per message (at most one more, for a message in flight at the kill);
and the leader role moved to another worker. Then an admin pushes a quiz to 300 learners and
the new leader is SIGKILLed halfway: a third worker takes the lead and finishes the push, so
every learner gets the question, twice only if their delivery was in flight at the kill.
Skipped without a PostgreSQL server."""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import psycopg

from storage.postgres_database import PostgresDatabase
from tests.bot.coach_process import start_coach
from tests.bot.emulator import TOKEN, BotApiEmulator
from tests.bot.test_e2e_webhook import SECRET, SECRET_HEADER, WEBHOOK_URL, free_port

LEARNERS = range(5_001, 5_051)
ADMIN = 4_100
PUSHED = range(90_001, 90_301)
QUIZ = "mixed-review"  # its first question is a native quiz poll, the push's one call
MESSAGES = 6
WORKERS = 3
POST_TIMEOUT = aiohttp.ClientTimeout(total=10)
STARTUP_SECONDS = 30.0
SETTLE_SECONDS = 120.0
BOT_ID = int(TOKEN.split(":", 1)[0])


class Workers:
    """The worker processes, their ports and logs; a kill leaves a hole until restarted."""

    def __init__(self, emu: BotApiEmulator, tmp_path: Path, url: str) -> None:
        self.emu, self.tmp_path, self.url = emu, tmp_path, url
        self.ports = [free_port() for _ in range(WORKERS)]
        self.processes: list[asyncio.subprocess.Process | None] = [None] * WORKERS
        self.logs: list[IO[bytes]] = []
        self.turn = itertools.count()

    def log_path(self, index: int, start: int) -> Path:
        return self.tmp_path / f"worker{index}.{start}.log"

    async def start(self, index: int, start: int = 0) -> None:
        log = self.log_path(index, start).open("wb")
        self.logs.append(log)
        env = {
            "DATABASE_URL": self.url,
            "WEBHOOK_URL": WEBHOOK_URL,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(self.ports[index]),
            "ADMIN_IDS": str(ADMIN),
        }
        self.processes[index] = await start_coach(self.emu, self.tmp_path, log, env)

    def kill(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)

    def log_text(self, index: int, start: int = 0) -> str:
        return self.log_path(index, start).read_text(errors="replace")

    def leads(self, index: int, start: int = 0) -> bool:
        return "leadership taken" in self.log_text(index, start)

    async def deliver(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        """POST to the next worker until one answers 200, as Telegram redelivers."""
        for _ in range(2_000):
            port = self.ports[next(self.turn) % WORKERS]
            try:
                async with session.post(
                    f"http://127.0.0.1:{port}/telegram/hook",
                    json=update,
                    headers={SECRET_HEADER: SECRET},
                    timeout=POST_TIMEOUT,
                ) as reply:
                    if reply.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.02)
        raise AssertionError(f"update {update['update_id']} never acknowledged")

    async def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            if process is not None:
                try:
                    await asyncio.wait_for(process.wait(), timeout=20)
                except TimeoutError:
                    process.kill()
                    await process.wait()
        for log in self.logs:
            log.close()


async def until(condition: Any, seconds: float, what: str) -> None:
    """Poll `condition` (an async or plain callable) up to `seconds` (a bound, not a time)."""
    for _ in range(int(seconds / 0.05)):
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def inbox_rows(url: str) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(url) as connection:
        cursor = await connection.execute(
            "SELECT chat_id, update_id, handled_at FROM inbox WHERE bot_id = %s", (BOT_ID,)
        )
        columns = [c.name for c in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in await cursor.fetchall()]


async def test_three_workers_one_killed_lose_nothing_and_keep_each_learner_in_order(
    tmp_path: Path, postgres_url: str
) -> None:
    async with await PostgresDatabase.open(postgres_url):
        pass  # `coach db upgrade` before the workers start
    sent: dict[int, list[int]] = defaultdict(list)
    acknowledged = 0
    async with BotApiEmulator(token=TOKEN) as emu:
        workers = Workers(emu, tmp_path, postgres_url)
        try:
            await workers.start(0)
            await until(
                lambda: "leadership taken" in workers.log_text(0), STARTUP_SECONDS, "0 leads"
            )
            await workers.start(1)
            await workers.start(2)

            async def learner(session: aiohttp.ClientSession, chat: int) -> None:
                nonlocal acknowledged
                for _ in range(MESSAGES):
                    update = emu.user_sends_text(chat, "/help")
                    sent[chat].append(int(update["update_id"]))
                    await workers.deliver(session, update)
                    acknowledged += 1

            async with aiohttp.ClientSession() as session:
                everyone = asyncio.gather(*(learner(session, chat) for chat in LEARNERS))
                total = len(LEARNERS) * MESSAGES
                await until(lambda: acknowledged >= total // 3, SETTLE_SECONDS, "a third")
                workers.kill(0)
                await until(
                    lambda: any("leadership taken" in workers.log_text(i) for i in (1, 2)),
                    SETTLE_SECONDS,
                    "the lead moved",
                )
                await everyone
            await workers.start(0, start=1)  # systemd restarts the killed worker

            async def all_handled() -> bool:
                rows = await inbox_rows(postgres_url)
                return len(rows) == total and all(r["handled_at"] is not None for r in rows)

            await until(all_handled, SETTLE_SECONDS, "every update handled")
            leader = next(i for i in (1, 2) if workers.leads(i))
            follower = 3 - leader
            in_flight = await push_and_kill(emu, workers, postgres_url, leader)
            assert workers.leads(follower) or workers.leads(0, start=1)
            polls = [c.chat_id for c in emu.sent("sendPoll") if c.status == 200]
            missed = [chat for chat in PUSHED if chat not in polls]
            assert missed == [], f"{len(missed)} learners never got the pushed question"
            twice = {chat for chat in PUSHED if polls.count(chat) > 1}
            assert twice <= in_flight, twice - in_flight
        finally:
            await workers.stop()
        rows = await inbox_rows(postgres_url)
        replies: dict[int, int] = defaultdict(int)
        for call in emu.sent("sendMessage"):
            if call.chat_id in sent:
                replies[call.chat_id] += 1

    by_chat: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for row in (r for r in rows if r["chat_id"] != ADMIN):
        handled = row["handled_at"]
        moment = handled if isinstance(handled, datetime) else datetime.fromisoformat(handled)
        by_chat[int(row["chat_id"])].append((moment, int(row["update_id"])))
    assert sorted(by_chat) == sorted(sent)
    for chat, ids in sent.items():
        assert [update_id for _, update_id in sorted(by_chat[chat])] == ids, chat
        assert MESSAGES <= replies[chat] <= MESSAGES + 1, (chat, replies[chat])
    for index in (1, 2):
        assert "Traceback" not in workers.log_text(index), workers.log_text(index)


async def push_and_kill(emu: BotApiEmulator, workers: Workers, url: str, leader: int) -> set[int]:
    """The admin makes a cohort of `PUSHED` learners and pushes a quiz; the leader is killed
    halfway. Returns the learners whose delivery was in flight at the kill."""
    for chat in PUSHED:
        emu.user_has_started(chat)
    async with aiohttp.ClientSession() as session:
        await workers.deliver(session, emu.user_sends_text(ADMIN, "/cohort new Big Class"))
        created = await emu.wait_for_message(ADMIN, "start=join_", STARTUP_SECONDS)
        code = created.text.split("start=join_")[1].split()[0]
        await seed_members(url, code)
        await workers.deliver(session, emu.user_sends_text(ADMIN, f"/push {QUIZ} {code}"))
        await emu.wait_for(lambda _: len(emu.sent("sendPoll")) >= len(PUSHED) // 2, SETTLE_SECONDS)
        workers.kill(leader)
        process = workers.processes[leader]
        assert process is not None
        await process.wait()
        at_kill = await delivery_statuses(url)
        assert 0 < list(at_kill.values()).count("sent") < len(PUSHED)
        await emu.wait_for_message(
            ADMIN, f"Push #1 sent: delivered to {len(PUSHED)} of", SETTLE_SECONDS
        )
    return {chat for chat, status in at_kill.items() if status == "sending"}


async def seed_members(url: str, code: str) -> None:
    """The learners in the cohort, as /join would leave them."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        cursor = await connection.execute("SELECT id FROM cohorts WHERE join_code = %s", (code,))
        row = await cursor.fetchone()
        assert row is not None
        async with connection.cursor() as insert:
            await insert.executemany(
                "INSERT INTO learners (id, display_name, first_seen, last_active)"
                " VALUES (%s, %s, '2026-12-01T09:00:00+00:00', '2026-12-01T09:00:00+00:00')",
                [(chat, f"Learner {chat}") for chat in PUSHED],
            )
            await insert.executemany(
                "INSERT INTO memberships (cohort_id, learner_id, joined_at)"
                " VALUES (%s, %s, '2026-12-01T09:00:00+00:00')",
                [(row[0], chat) for chat in PUSHED],
            )


async def delivery_statuses(url: str) -> dict[int, str]:
    async with await psycopg.AsyncConnection.connect(url) as connection:
        cursor = await connection.execute(
            "SELECT learner_id, status FROM deliveries WHERE push_id = 1"
        )
        return {int(learner): str(status) for learner, status in await cursor.fetchall()}
