"""Full-stack throughput of 1, 2 and 4 `coach run` webhook workers on one PostgreSQL database.

Each run starts N real worker processes on a fresh schema, as "Several webhook workers" in
README.md deploys them, against a Bot API emulator on 127.0.0.1 that answers every call at once
and never 429s; the workers run with SEND_PACING=false, so what limits them is their own work,
not Telegram's 30 sends a second. The recorded learners of bench/workload.py play their scripts,
`CONCURRENT` of them at a time (a new one starts when one finishes): every update is POSTed as
Telegram would, to the next worker in turn, and a learner's next update goes only once the POST
was answered and the update handled (the learner has the bot's reply), as a person waits for
it. Throughput is updates handled a second from the 10th percentile of the inbox's `handled_at`
to the moment the last learner began (at most the 90th percentile): the workers' start, their
first updates and the tail, when fewer learners are left than play at once, are left out.
Afterwards the database must show every update stored once and handled, each learner's answers
logged as in the recording's live play and no reply sent twice by the outbox, and the emulator
the same sends to each learner as the live play made; otherwise the run gives no figure.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import os
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import psycopg

from bench.postgres import postgres_schema, postgres_unavailable
from bench.report import HEADER, Figure, Report
from bench.workload import Script, record_scripts
from storage.postgres_database import PostgresDatabase
from tests.bot.coach_process import start_coach
from tests.bot.emulator import TOKEN, BotApiEmulator, Call
from tests.bot.test_e2e_webhook import SECRET, SECRET_HEADER, WEBHOOK_URL, free_port

WORKER_COUNTS = (1, 2, 4)
LEARNERS = 64
"""Learners played in each run (`--worker-learners`): about 1,600 updates."""
CONCURRENT = 24
"""Learners playing at once: three times one worker's 8 chat locks (LOCK_POOL_SIZE)."""
STEADY = (0.1, 0.9)
"""The shares of handled updates the rate is measured between (and only while every slot of
`CONCURRENT` is playing: not once the last learner has begun)."""
POLL_S = 0.02
"""How often the driver asks the database which waiting updates are handled."""
STARTUP_S = 60.0
UPDATE_S = 60.0
"""An update not handled within this long fails the run."""
STOP_S = 20.0
BOT_ID = int(TOKEN.split(":", 1)[0])
HOOK_PATH = "/telegram/hook"


class NotExactlyOnceError(AssertionError):
    """The database does not show every update handled exactly once."""


# --- the Bot API --------------------------------------------------------------------------------


class InstantBotApi(BotApiEmulator):
    """The emulator answering every call at once and checking nothing (no 429, no unknown
    chat or message): the recorded updates press buttons on the recording's message ids. Poll
    ids are numbered per chat as in the recording (`CHAT-N`), so its votes find their polls."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self._poll_numbers: Counter[int] = Counter()
        self._message_numbers = itertools.count(1)

    async def _dispatch(self, token: str, call: Call) -> Any:
        method, params = call.method, call.params
        if method in {"getMe", "setWebhook", "deleteWebhook", "getWebhookInfo"}:
            return await super()._dispatch(token, call)
        chat = int(params.get("chat_id") or 0)
        if method in {"sendMessage", "editMessageText", "editMessageReplyMarkup"}:
            return self._sent(chat, text=str(params.get("text") or ""))
        if method == "sendPoll":
            self._poll_numbers[chat] += 1
            options = [o if isinstance(o, str) else o.get("text", "") for o in params["options"]]
            poll = {
                "id": f"{chat}-{self._poll_numbers[chat]}",
                "question": str(params.get("question") or ""),
                "options": [
                    {"text": o, "voter_count": 0, "persistent_id": str(i)}
                    for i, o in enumerate(options)
                ],
                "total_voter_count": 0,
                "is_anonymous": False,
                "type": "quiz",
                "correct_option_ids": params.get("correct_option_ids") or [0],
                "is_closed": False,
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            }
            return self._sent(chat, poll=poll)
        return True  # answerCallbackQuery, setMyCommands, sendChatAction…

    def _sent(self, chat: int, **content: Any) -> dict[str, Any]:
        me = {"id": BOT_ID, "is_bot": True, "first_name": "Coach"}
        return {
            "message_id": next(self._message_numbers),
            "date": 1_790_000_000,
            "chat": {"id": chat, "type": "private"},
            "from": me,
            **content,
        }


# --- the workers --------------------------------------------------------------------------------


@dataclass
class Workers:
    """N `coach run` webhook workers on `url`, each on a port of its own, logging to `folder`."""

    api: BotApiEmulator
    url: str
    folder: Path
    content_cache: Path
    count: int
    ports: list[int] = field(default_factory=list)
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)

    async def start(self) -> None:
        """The first worker alone (it fills the content cache and takes the lead), then the
        others together; each answers /healthz before this returns."""
        await self._start_one(0)
        await asyncio.gather(*(self._start_one(index) for index in range(1, self.count)))

    async def _start_one(self, index: int) -> None:
        port = free_port()
        self.ports.append(port)
        log = (self.folder / f"worker{index}.log").open("wb")
        self.logs.append(log)
        env = {
            "DATABASE_URL": self.url,
            "WEBHOOK_URL": WEBHOOK_URL,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
            "CONTENT_CACHE_DIR": str(self.content_cache),
            "SEND_PACING": "false",
        }
        self.processes.append(await start_coach(self.api, self.folder, log, env))
        await _until_healthy(port, self.processes[-1])

    def cpu_seconds(self) -> float | None:
        """The workers' CPU time so far (user and system; None where /proc is not there)."""
        times = [process_cpu_seconds(process.pid) for process in self.processes]
        return None if None in times else sum(t or 0.0 for t in times)

    def log_text(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.folder.glob("worker*.log"))
        )

    async def stop(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), STOP_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        for log in self.logs:
            log.close()


async def _until_healthy(port: int, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + STARTUP_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"worker on port {port} exited with {process.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"worker on port {port} not healthy within {STARTUP_S:.0f} s")


def process_cpu_seconds(pid: int) -> float | None:
    """A process's CPU time so far, user and system (Linux's /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class MachineCpu:
    """CPU time of the whole machine and of the PostgreSQL server's processes, from /proc."""

    busy_s: float
    total_s: float
    postgres_s: float

    @classmethod
    def now(cls) -> MachineCpu | None:
        try:
            ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except OSError:
            return None
        hz = os.sysconf("SC_CLK_TCK")
        idle = ticks[3] + ticks[4]  # idle and iowait
        postgres = 0.0
        for comm in Path("/proc").glob("[0-9]*/comm"):
            try:
                if comm.read_text().strip() == "postgres":
                    postgres += process_cpu_seconds(int(comm.parent.name)) or 0.0
            except OSError:
                continue  # the process ended
        return cls((sum(ticks) - idle) / hz, sum(ticks) / hz, postgres)


# --- the learners -------------------------------------------------------------------------------


def own_username(data: dict[str, Any], learner_id: int) -> dict[str, Any]:
    """The update with its learner's own @username: the recording gives every learner the
    same one, and a username moves to whoever writes with it, so each input would also
    update the row of the learner who wrote before: contention that real learners, with
    usernames of their own, do not cause."""

    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            fixed = {key: fix(item) for key, item in value.items()}
            if fixed.get("id") == learner_id and "username" in fixed:
                fixed["username"] = f"learner{learner_id}"
            return fixed
        if isinstance(value, list):
            return [fix(item) for item in value]
        return value

    fixed: dict[str, Any] = fix(data)
    return fixed


def learner_updates(scripts: Sequence[Script]) -> list[list[dict[str, Any]]]:
    """Each learner's updates as Telegram would POST them, in order."""
    return [
        [own_username(action.data(), script.learner_id) for action in script.actions]
        for script in scripts
    ]


class RoundRobin:
    """The workers' webhook URLs in turn, as nginx's default balancing hands out POSTs."""

    def __init__(self, ports: Sequence[int]) -> None:
        self._urls = itertools.cycle([f"http://127.0.0.1:{port}{HOOK_PATH}" for port in ports])

    def next_url(self) -> str:
        return next(self._urls)


class HandledWatch:
    """Tells waiting learners when their update is handled, by asking the inbox for all the
    waiting updates at once every `POLL_S` (one indexed query, whatever the learners)."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._connection = connection
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._changed = asyncio.Event()
        self._done = False

    async def handled(self, update_id: int) -> None:
        future = asyncio.get_running_loop().create_future()
        self._waiting[update_id] = future
        self._changed.set()
        try:
            await asyncio.wait_for(future, UPDATE_S)
        except TimeoutError:
            raise NotExactlyOnceError(
                f"update {update_id} not handled in {UPDATE_S:.0f} s"
            ) from None

    async def run(self) -> None:
        while not self._done:
            if not self._waiting:
                self._changed.clear()
                await self._changed.wait()
                continue
            cursor = await self._connection.execute(
                "SELECT update_id FROM inbox WHERE bot_id = %s AND update_id = ANY(%s)"
                " AND handled_at IS NOT NULL",
                (BOT_ID, list(self._waiting)),
            )
            for (update_id,) in await cursor.fetchall():
                future = self._waiting.pop(int(update_id))
                if not future.done():
                    future.set_result(None)
            await asyncio.sleep(POLL_S)

    def stop(self) -> None:
        self._done = True
        self._changed.set()


@dataclass(frozen=True)
class Drove:
    seconds: float
    """from the first POST to the last update handled"""
    full_until: float
    """when the last learner began (time.time()): every slot was playing until then"""


async def drive(
    urls: RoundRobin, updates: list[list[dict[str, Any]]], url: str, concurrent: int
) -> Drove:
    """Play every learner's updates, `concurrent` learners at a time."""
    waiting = list(reversed(updates))
    full_until = time.time()
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
        await psycopg.AsyncConnection.connect(url, autocommit=True) as connection,
    ):
        watch = HandledWatch(connection)

        async def post(update: dict[str, Any]) -> None:
            target = urls.next_url()
            async with session.post(target, json=update, headers={SECRET_HEADER: SECRET}) as r:
                if r.status != 200:
                    raise NotExactlyOnceError(f"{target}: {r.status} to {update['update_id']}")

        async def learner_slot() -> None:
            nonlocal full_until
            while waiting:
                learner = waiting.pop()
                full_until = time.time()
                for update in learner:
                    await post(update)
                    await watch.handled(int(update["update_id"]))

        start = time.monotonic()
        async with asyncio.TaskGroup() as group:
            group.create_task(watch.run())
            try:
                await asyncio.gather(*(learner_slot() for _ in range(concurrent)))
            finally:
                watch.stop()
        return Drove(time.monotonic() - start, full_until)


# --- the checks and the rate --------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """What the database (and the Bot API) hold after a run."""

    handled_at: dict[int, str | None]
    """update id -> when it was handled (None: not handled), one per stored update"""
    answers: Counter[int]
    """learner -> answers logged"""
    resent: int
    """replies sent more than once, or not marked sent"""
    sends: Counter[int] = field(default_factory=Counter)
    """learner -> Bot API sends and edits to them that the emulator answered"""


@dataclass(frozen=True)
class Once:
    """The exactly-once check: counts, and what is wrong (nothing when `ok`)."""

    updates: int
    handled: int
    answers: int
    sends: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def failed(self, problem: str) -> Once:
        return Once(
            self.updates, self.handled, self.answers, self.sends, (*self.problems, problem)
        )


def check_once(sent: Sequence[int], scripts: Sequence[Script], stored: Stored) -> Once:
    """Every sent update stored once and handled, nothing else stored; each learner's answers
    logged and their replies sent as the recording's live play did (which handled each update
    once); no reply sent twice by the outbox."""
    problems = []
    duplicates = len(sent) - len(set(sent))
    if duplicates:
        problems.append(f"{duplicates} update ids sent twice (a driver error)")
    missing = set(sent) - set(stored.handled_at)
    extra = set(stored.handled_at) - set(sent)
    unhandled = [u for u in sent if u in stored.handled_at and stored.handled_at[u] is None]
    for count, what in (
        (len(missing), "sent but not stored"),
        (len(extra), "stored but never sent"),
        (len(unhandled), "stored but not handled"),
    ):
        if count:
            problems.append(f"{count} updates {what}")
    for what, got, want in (
        ("answers logged", stored.answers, {s.learner_id: s.answers_logged for s in scripts}),
        ("sends to them", stored.sends, {s.learner_id: s.sends for s in scripts}),
    ):
        wrong = {k: (got[k], w) for k, w in want.items() if w is None or got[k] != w}
        wrong |= {k: (n, 0) for k, n in got.items() if k not in want}
        if wrong:
            some = ", ".join(f"{k}: {n} of {w}" for k, (n, w) in list(wrong.items())[:4])
            problems.append(f"{len(wrong)} learners with {what} unlike the live play ({some})")
    if stored.resent:
        problems.append(f"{stored.resent} replies sent more than once or not marked sent")
    return Once(
        updates=len(sent),
        handled=len(sent) - len(missing) - len(unhandled),
        answers=sum(stored.answers.values()),
        sends=sum(stored.sends.values()),
        problems=tuple(problems),
    )


async def read_stored(url: str, calls: Iterable[Call]) -> Stored:
    """The inbox, the answers and the outbox on `url`; the sends among the emulator's `calls`."""
    async with await psycopg.AsyncConnection.connect(url) as connection:
        cursor = await connection.execute(
            "SELECT update_id, handled_at FROM inbox WHERE bot_id = %s", (BOT_ID,)
        )
        handled_at = {int(u): (None if h is None else str(h)) for u, h in await cursor.fetchall()}
        cursor = await connection.execute(
            "SELECT learner_id, count(*) FROM answers GROUP BY learner_id"
        )
        answers = Counter({int(learner): int(n) for learner, n in await cursor.fetchall()})
        cursor = await connection.execute(
            "SELECT count(*) FROM outbox WHERE attempts <> 1 OR status <> 'sent'"
        )
        row = await cursor.fetchone()
    sends = Counter(
        call.chat_id
        for call in calls
        if call.status == 200 and call.method.startswith(("send", "edit")) and call.chat_id
    )
    return Stored(handled_at, answers, int(row[0]) if row else 0, sends)


def steady_rate(
    handled_at: Iterable[str | None],
    until: float | None = None,
    steady: tuple[float, float] = STEADY,
) -> float:
    """Updates handled a second between the `steady` shares of them (by handling time), and
    not after `until` (a time.time()) if given."""
    moments = sorted(datetime.fromisoformat(h).timestamp() for h in handled_at if h is not None)
    first, last = (round(share * (len(moments) - 1)) for share in steady)
    if until is not None:
        last = min(last, bisect.bisect_right(moments, until) - 1)
    if last <= first or moments[last] <= moments[first]:
        raise ValueError(f"too few updates handled ({len(moments)}) to measure a rate")
    return (last - first) / (moments[last] - moments[first])


# --- one run, and the figures -------------------------------------------------------------------


@dataclass(frozen=True)
class WorkersRun:
    workers: int
    updates_per_s: float
    drive_s: float
    once: Once
    calls: int
    """Bot API calls the workers made while the learners played"""
    worker_cpu_s: float | None
    """the workers' CPU time while the learners played (None without /proc)"""
    driver_cpu_s: float
    """this process's: the learners' POSTs, the emulated Bot API, the watch on the inbox"""
    machine: MachineCpu | None = None
    """the whole machine's and PostgreSQL's CPU time meanwhile (other programs' included)"""

    def details(self) -> dict[str, Any]:
        return {
            "updates_per_s": round(self.updates_per_s, 1),
            "drive_s": round(self.drive_s, 1),
            "updates": self.once.updates,
            "handled_once": self.once.handled,
            "answers_logged_once": self.once.answers,
            "sends_once": self.once.sends,
            "bot_api_calls": self.calls,
            "worker_cpu_ms_per_update": (
                None
                if self.worker_cpu_s is None
                else round(1000 * self.worker_cpu_s / self.once.updates, 2)
            ),
            "worker_cpu_cores": (
                None if self.worker_cpu_s is None else round(self.worker_cpu_s / self.drive_s, 2)
            ),
            "driver_cpu_ms_per_update": round(1000 * self.driver_cpu_s / self.once.updates, 2),
            "postgres_cpu_cores": (
                None if self.machine is None else round(self.machine.postgres_s / self.drive_s, 2)
            ),
            "machine_cpu_busy": (
                None
                if self.machine is None
                else round(self.machine.busy_s / self.machine.total_s, 2)
            ),
            "problems": list(self.once.problems),
        }


async def workers_run(
    count: int, scripts: Sequence[Script], content_cache: Path, concurrent: int = CONCURRENT
) -> WorkersRun:
    """N workers on a fresh schema play `scripts`; NotExactlyOnceError unless the database
    shows every update handled once."""
    updates = learner_updates(scripts)
    sent = [int(update["update_id"]) for learner in updates for update in learner]
    with postgres_schema() as url, tempfile.TemporaryDirectory() as folder:
        async with await PostgresDatabase.open(url, migrate=True):
            pass  # `coach db upgrade`, before the workers start
        async with InstantBotApi() as api:
            workers = Workers(api, url, Path(folder), content_cache, count)
            try:
                await workers.start()
                since = len(api.calls)
                cpu_before, driver_before = workers.cpu_seconds(), time.process_time()
                machine_before = MachineCpu.now()
                drove = await drive(RoundRobin(workers.ports), updates, url, concurrent)
                cpu_after, driver_cpu = workers.cpu_seconds(), time.process_time() - driver_before
                machine_after = MachineCpu.now()
                calls = api.calls[since:]
            finally:
                await workers.stop()
            log = workers.log_text()
        stored = await read_stored(url, calls)
    once = check_once(sent, scripts, stored)
    if "Traceback" in log:
        once = once.failed("a traceback in a worker's log")
    if not once.ok:
        tail = "\n".join(log.splitlines()[-30:])
        raise NotExactlyOnceError(f"{count} workers: {'; '.join(once.problems)}\n{tail}")
    worker_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return WorkersRun(
        workers=count,
        # With no more learners than play at once there is no steady part to cut at.
        updates_per_s=steady_rate(
            stored.handled_at.values(), drove.full_until if len(scripts) > concurrent else None
        ),
        drive_s=drove.seconds,
        once=once,
        calls=len(calls),
        worker_cpu_s=worker_cpu,
        driver_cpu_s=driver_cpu,
        machine=(
            None
            if machine_before is None or machine_after is None
            else MachineCpu(
                machine_after.busy_s - machine_before.busy_s,
                machine_after.total_s - machine_before.total_s,
                machine_after.postgres_s - machine_before.postgres_s,
            )
        ),
    )


def workers_figures(report: Report, scripts: Sequence[Script], learners: int = LEARNERS) -> None:
    """Figures for issues 13-14: updates a second with 1, 2 and 4 workers, the latter two as
    ratios to the first, all in the same run; skipped without a PostgreSQL server."""
    reason = postgres_unavailable()
    if reason is not None:
        print(f"Worker figures skipped: {reason}")
        report.details["workers"] = {"skipped": reason}
        return
    played = scripts[:learners]
    details: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "learners": len(played),
        "concurrent_learners": CONCURRENT,
        "steady_share": list(STEADY),
    }
    report.details["workers"] = details
    runs: dict[int, WorkersRun] = {}
    with tempfile.TemporaryDirectory() as cache:
        for count in WORKER_COUNTS:
            try:
                runs[count] = asyncio.run(workers_run(count, played, Path(cache)))
            except NotExactlyOnceError as error:
                print(f"FAILED workers_{count}: {error}")
                details[f"workers_{count}"] = {"failed": str(error).splitlines()[0]}
                report.failed.append(f"workers_{count}")
                return
            details[f"workers_{count}"] = runs[count].details()
    one = runs[1].updates_per_s
    shared = f"1 worker, same run; {os.cpu_count()} CPUs"
    report.add(Figure("workers_1_updates_per_s", one, "upd/s", one, "itself"))
    for count in WORKER_COUNTS[1:]:
        report.add(
            Figure(f"workers_{count}_ratio", runs[count].updates_per_s, "upd/s", one, shared)
        )


def main() -> None:
    """`python -m bench.workers`: only the worker figures (written to bench/results.json)."""
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument(
        "--worker-learners", type=int, default=LEARNERS, help="learners played per run"
    )
    args = parser.parse_args()
    report = Report()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        scripts = asyncio.run(record_scripts(Path(folder), args.worker_learners))
    print(HEADER)
    workers_figures(report, scripts, args.worker_learners)
    report.write(time.perf_counter() - start)
    if report.failed:
        raise SystemExit(f"failed: {', '.join(report.failed)}")


if __name__ == "__main__":
    main()
