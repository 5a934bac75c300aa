"""`python -m bench.profile [LEARNERS]`: cProfile over the replay of recorded learners (the
bench's workload, one learner after another), top functions by their own time and by
cumulative time. Only the updates are profiled, not the bot's start (which loads the content:
the YAML parsing and validation seen in a profile of the whole run). What the loop waits for
(the SQLite thread) shows as `select.epoll.poll`."""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

from bench.dispatch import replay
from bench.workload import record_scripts


async def _main(learners: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        scripts = await record_scripts(Path(folder), learners)
    profile = cProfile.Profile()
    run = await replay(scripts, bare=False, concurrent=False, profiler=profile)
    print(f"{run.updates} updates, {1000 / run.per_s:.2f} ms each under the profiler")
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(r"(bot|flows|knowledge|storage)/", 25)


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]) if len(sys.argv) > 1 else 40))
