"""The worker figures' harness (bench/workers.py), not its timings: the exactly-once check, the
rate over the steady part, the round robin, and two real workers playing a few learners."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.workers import (
    RoundRobin,
    Stored,
    check_once,
    learner_updates,
    own_username,
    steady_rate,
    workers_run,
)
from bench.workload import Script, record_scripts
from tests.postgres import require_server

ALICE, BOB = 1_000_000, 1_000_001


def scripts() -> list[Script]:
    return [Script(ALICE, answers_logged=2, sends=3), Script(BOB, answers_logged=1, sends=1)]


def stored(**changes: object) -> Stored:
    """What a run that handled updates 1-4 once each leaves, with `changes`."""
    base: dict[str, object] = {
        "handled_at": {n: f"2026-12-06T10:00:0{n}+00:00" for n in range(1, 5)},
        "answers": Counter({ALICE: 2, BOB: 1}),
        "resent": 0,
        "sends": Counter({ALICE: 3, BOB: 1}),
    }
    return Stored(**(base | changes))  # type: ignore[arg-type]


def test_a_run_that_handled_everything_once_passes_with_its_counts() -> None:
    once = check_once([1, 2, 3, 4], scripts(), stored())
    assert once.ok, once.problems
    assert (once.updates, once.handled, once.answers, once.sends) == (4, 4, 3, 4)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"handled_at": {1: "2026-12-06T10:00:01+00:00", 2: None, 3: "x", 4: "x"}}, "not handled"),
        ({"handled_at": {1: "x", 2: "x", 3: "x"}}, "1 updates sent but not stored"),
        ({"handled_at": dict.fromkeys(range(1, 6), "x")}, "1 updates stored but never sent"),
        (
            {"answers": Counter({ALICE: 4, BOB: 1})},
            f"answers logged unlike the live play ({ALICE}",
        ),
        ({"answers": Counter({ALICE: 2})}, f"{BOB}: 0 of 1"),
        ({"sends": Counter({ALICE: 3, BOB: 2})}, "1 learners with sends to them unlike"),
        ({"sends": Counter({ALICE: 3, BOB: 1, 7: 1})}, "7: 1 of 0"),
        ({"resent": 2}, "2 replies sent more than once"),
    ],
    ids=[
        "unhandled",
        "missing",
        "extra",
        "answer twice",
        "answer lost",
        "reply twice",
        "stranger",
        "outbox resent",
    ],
)
def test_each_way_of_handling_not_exactly_once_is_a_problem(
    changes: dict[str, object], problem: str
) -> None:
    once = check_once([1, 2, 3, 4], scripts(), stored(**changes))
    assert not once.ok
    assert any(problem in found for found in once.problems), once.problems


def test_a_script_not_recorded_live_cannot_pass() -> None:
    once = check_once(
        [1, 2, 3, 4], [Script(ALICE), Script(BOB, answers_logged=1, sends=1)], stored()
    )
    assert not once.ok


def test_the_rate_is_taken_between_the_10th_and_90th_percentiles() -> None:
    start = datetime(2026, 12, 6, 10, tzinfo=UTC)
    # 11 updates: a slow start, nine a tenth of a second apart, a slow end.
    moments = [start, start + timedelta(seconds=5)]
    moments += [moments[-1] + timedelta(seconds=0.1 * n) for n in range(1, 9)]
    moments.append(moments[-1] + timedelta(seconds=30))
    handled = [m.isoformat() for m in moments]
    assert steady_rate(handled) == pytest.approx(10.0)
    assert steady_rate([*handled, None]) == pytest.approx(10.0)  # unhandled ones don't count
    with pytest.raises(ValueError, match="too few"):
        steady_rate(handled[:1])


def test_the_rate_stops_when_the_last_learner_began() -> None:
    start = datetime(2026, 12, 6, 10, tzinfo=UTC)
    # 21 updates a tenth of a second apart, then a slow tail from the 12th on (learners
    # finishing, none left to start).
    moments = [start + timedelta(seconds=0.1 * n) for n in range(12)]
    moments += [moments[-1] + timedelta(seconds=n) for n in range(1, 10)]
    handled = [m.isoformat() for m in moments]
    began = (moments[11] + timedelta(seconds=0.05)).timestamp()
    assert steady_rate(handled, until=began) == pytest.approx(10.0)
    assert steady_rate(handled) < 5  # the tail counted in


def test_posts_go_to_each_worker_in_turn() -> None:
    urls = RoundRobin([8001, 8002])
    ports = [urls.next_url().split(":")[2].split("/")[0] for _ in range(5)]
    assert ports == ["8001", "8002", "8001", "8002", "8001"]


def test_each_learner_gets_a_username_of_their_own() -> None:
    data: dict[str, Any] = {
        "update_id": 7,
        "callback_query": {
            "from": {"id": ALICE, "is_bot": False, "username": "sam"},
            "message": {"from": {"id": 424242, "is_bot": True}, "chat": {"id": ALICE}},
        },
    }
    fixed = own_username(data, ALICE)
    assert fixed["callback_query"]["from"]["username"] == f"learner{ALICE}"
    assert fixed["callback_query"]["message"] == data["callback_query"]["message"]
    assert data["callback_query"]["from"]["username"] == "sam"  # the recording is not changed


async def test_two_workers_handle_every_update_of_a_few_learners_once(tmp_path: Path) -> None:
    await require_server()
    played = await record_scripts(tmp_path, 3)
    sent = sum(len(updates) for updates in learner_updates(played))
    cache = tmp_path / "content-cache"
    cache.mkdir()
    run = await workers_run(2, played, cache, concurrent=3)
    assert run.once.ok, run.once.problems
    assert run.once.updates == run.once.handled == sent
    assert run.once.answers == sum(script.answers_logged or 0 for script in played) > 0
    assert run.updates_per_s > 0
