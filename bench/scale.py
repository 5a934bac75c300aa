"""Many learners holding sessions, and start-up time; run in fresh processes so that memory
and start-up are the bot's alone.

`python -m bench.scale SCRIPTS.json LEARNERS` seeds LEARNERS learners part-way through a
scenario, replays the recorded scripts of the active learners into the bot and prints one JSON
line: updates per second and the process's resident memory.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STARTUP = """
import time
start = time.perf_counter()
{imports}
{body}
print(time.perf_counter() - start)
"""
# The coach's content cache is the folder given as its one argument.
COACH_STARTUP = STARTUP.format(
    imports="import asyncio, tempfile, pathlib, sys\n"
    "from bot.app import build_application\n"
    "from tests.bot.fakes import RecordingRequest, settings_for",
    body="""
async def main():
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(
            pathlib.Path(folder) / "s.db", content_cache=pathlib.Path(sys.argv[1])
        )
        app = build_application(settings, request=RecordingRequest())
        async with app:
            await app.post_init(app)  # loads and validates all content, opens the database
            await app.post_shutdown(app)
asyncio.run(main())
""",
)
BARE_STARTUP = STARTUP.format(
    imports="import asyncio\n"
    "from telegram.ext import ApplicationBuilder\n"
    "from tests.bot.fakes import RecordingRequest, TOKEN",
    body="""
async def main():
    fake = RecordingRequest()
    app = ApplicationBuilder().token(TOKEN).request(fake).get_updates_request(fake).build()
    async with app:
        pass
asyncio.run(main())
""",
)


def startup_seconds(code: str, *args: str) -> float:
    """Seconds from a fresh interpreter's first import to a bot ready for updates."""
    out = subprocess.run(  # noqa: S603  # our own interpreter and code
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Startups:
    """Median start-up seconds over a few rounds, each round the three side by side."""

    cold: float
    """The content loaded, validated and cached: the first start after a content change."""
    warm: float
    """The content read from the cache: a restart with the content unchanged."""
    bare: float
    """A bare PTB bot."""


def startups(rounds: int = 3) -> Startups:
    cold, warm, bare = [], [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(startup_seconds(COACH_STARTUP, cache))
            warm.append(startup_seconds(COACH_STARTUP, cache))
        bare.append(startup_seconds(BARE_STARTUP))
    return Startups(statistics.median(cold), statistics.median(warm), statistics.median(bare))


def rss_mb() -> float:
    """This process's resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _run(scripts_file: Path, learners: int) -> dict[str, Any]:
    from bench.dispatch import replay  # noqa: PLC0415  # imported in the measured process
    from bench.seed import migrated, seed_sessions  # noqa: PLC0415
    from bench.workload import load_scripts  # noqa: PLC0415

    scripts = load_scripts(scripts_file)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        await migrated(path)
        start = time.perf_counter()
        seed_sessions(path, range(1, learners + 1))
        seeded = time.perf_counter() - start
        run = await replay(scripts, bare=False, concurrent=True, database=path)
    return {
        "learners": learners,
        "seed_s": round(seeded, 1),
        "updates_per_s": run.per_s,
        "rss_mb": rss_mb(),
    }


def measure(scripts_file: Path, learners: int) -> dict[str, Any]:
    """Run one measurement in a fresh process; its JSON result."""
    out = subprocess.run(  # noqa: S603  # our own interpreter and module
        [sys.executable, "-m", "bench.scale", str(scripts_file), str(learners)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    result = asyncio.run(_run(Path(sys.argv[1]), int(sys.argv[2])))
    print(json.dumps(result))
