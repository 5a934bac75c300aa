"""`make bench`: capacity and cost figures, each beside a baseline measured in the same run.

Prints a table as it goes and writes bench/results.json. Figures are never asserted in tests:
timings on shared machines vary. Sizes can be lowered for a quick look, e.g.
`python -m bench --learners 60 --answers 100`, and parts chosen, e.g. `--only workers`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import scale
from bench.conversation import ordinary_run
from bench.dispatch import Run, calls_per_action, one_by_one, replay
from bench.limit import through_limit
from bench.micro import bench_micro
from bench.postgres import postgres_schema, postgres_unavailable
from bench.pushrate import push_figures
from bench.queries import bench_reports
from bench.reminders import bench_reminders
from bench.report import HEADER, Figure, Report
from bench.seed import migrated, seed_sessions
from bench.workers import LEARNERS as WORKER_LEARNERS
from bench.workers import workers_figures
from bench.workload import KINDS, Script, mix, record_scripts, save_scripts

TELEGRAM_CALLS_PER_S = 30.0  # Telegram's overall limit for one bot (its Bot FAQ), as PTB uses
LATENCY_RATE = 25.0  # learner actions a second for the latency figure
ACTIVE_AT_SCALE = 100  # learners replayed while many more hold sessions
PARTS = (
    "dispatch",
    "postgres",
    "workers",
    "limit",
    "conversation",
    "scale",
    "reports",
    "reminders",
    "micro",
    "push",
)


def dispatch_figures(report: Report, scripts_file: Path, learners: int) -> list[Script]:
    scripts = asyncio.run(_record(scripts_file, learners))
    actions = mix(scripts)
    report.details["actions"] = dict(actions)
    for concurrent in (False, True):
        label = f"concurrent_{learners}" if concurrent else "sequential"
        coach = asyncio.run(replay(scripts, bare=False, concurrent=concurrent))
        bare = asyncio.run(replay(scripts, bare=True, concurrent=concurrent))
        report.add(
            Figure(
                f"dispatch_ratio_{label}",
                coach.per_s,
                "upd/s",
                bare.per_s,
                "a bare PTB bot that only replies",
                "≥ 0.2x",
            )
        )
        report.details[f"dispatch_{label}"] = {
            "coach_updates_per_s": coach.per_s,
            "bare_updates_per_s": bare.per_s,
            "dispatch_ratio": coach.per_s / bare.per_s,
            "updates": coach.updates,
            "coach_ms_per_update": 1000 / coach.per_s,
            "coach_cpu_ms_per_update": 1000 * coach.cpu_seconds / coach.updates,
            "bare_cpu_ms_per_update": 1000 * bare.cpu_seconds / bare.updates,
            "coach_transactions_per_update": coach.transactions / coach.updates,
        }
        if concurrent:
            calls = calls_per_action(coach, actions)
            report.details["calls_per_action"] = calls
            report.details["bare_calls_per_action"] = calls_per_action(bare, actions)["mixed"]
            _calls_figures(report, coach, calls)
    return scripts


async def _record(scripts_file: Path, learners: int) -> list[Script]:
    with tempfile.TemporaryDirectory() as folder:
        scripts = await record_scripts(Path(folder), learners)
    save_scripts(scripts, scripts_file)
    return scripts


def _calls_figures(report: Report, run: Run, calls: dict[str, object]) -> None:
    actions = report.details["actions"]
    total = sum(actions.values())
    mixed = float(calls["mixed"])  # type: ignore[arg-type]
    budget = float(calls["mixed_budget"])  # type: ignore[arg-type]
    report.add(
        Figure(
            "calls_per_action",
            mixed,
            "",
            one_by_one(run, None) / total,
            "a message per engine reply",
            "≤ 1.2",
        )
    )
    by_kind = calls["by_kind"]
    assert isinstance(by_kind, dict)
    for kind in KINDS:
        if actions.get(kind):
            report.add(
                Figure(
                    f"calls_per_action[{kind}]",
                    by_kind[kind],
                    "",
                    one_by_one(run, kind) / actions[kind],
                    "a message per engine reply",
                )
            )
    report.add(
        Figure(
            "budget_calls_per_action",
            budget,
            "",
            1.0,
            "one counted call per action",
        )
    )
    report.details["derived_actions_per_s_at_30_calls"] = TELEGRAM_CALLS_PER_S / budget


def postgres_figures(report: Report, scripts: list[Script]) -> None:
    """The same replay with the bot on PostgreSQL, against SQLite in the same run."""
    reason = postgres_unavailable()
    if reason is not None:
        print(f"PostgreSQL figures skipped: {reason}")
        report.details["postgres"] = {"skipped": reason}
        return
    for concurrent in (False, True):
        label = f"concurrent_{len(scripts)}" if concurrent else "sequential"
        sqlite = asyncio.run(replay(scripts, bare=False, concurrent=concurrent))
        with postgres_schema() as url:
            postgres = asyncio.run(
                replay(scripts, bare=False, concurrent=concurrent, database_url=url)
            )
        report.add(
            Figure(
                f"postgres_vs_sqlite_{label}",
                postgres.per_s,
                "upd/s",
                sqlite.per_s,
                "the same bot on SQLite",
            )
        )


def limit_figures(report: Report, scripts: list[Script], learners: int) -> None:
    """Through the bot's rate limiter against a fake answering 429 above 30 calls a second."""
    few = scripts[:learners]
    coach = asyncio.run(through_limit(few, None, bare=False))
    bare = asyncio.run(through_limit(few, None, bare=True))
    report.add(
        Figure(
            "actions_per_s_at_telegram_limit",
            coach.per_s,
            "act/s",
            bare.per_s,
            "a bare PTB bot, through the same limiter",
            "≥ 25",
        )
    )
    paced = asyncio.run(through_limit(few, LATENCY_RATE, bare=False))
    paced_bare = asyncio.run(through_limit(few, LATENCY_RATE, bare=True))
    report.add(
        Figure(
            "latency_p99_ms",
            paced.p99_ms,
            "ms",
            paced_bare.p99_ms,
            f"a bare PTB bot, {LATENCY_RATE:.0f} actions a second",
            "< 1,000 ms",
        )
    )
    report.details["telegram_limit"] = {
        "learners": learners,
        "actions": coach.actions,
        "coach_429s": coach.refused,
        "bare_429s": bare.refused,
        "paced_coach_429s": paced.refused,
        "paced_actions_per_s": paced.per_s,
        "paced_p50_ms": statistics.median(paced.latencies) * 1000,
    }


def conversation_figures(report: Report, scripts: list[Script], holding: int) -> None:
    """Our bot against the same kind of flow written the ordinary PTB way, each with `holding`
    learners holding state and 100 more playing, one after another."""
    ours = asyncio.run(_ours_holding(scripts[:ACTIVE_AT_SCALE], holding))
    theirs = asyncio.run(ordinary_run(holding, ACTIVE_AT_SCALE))
    report.add(
        Figure(
            f"vs_conversationhandler_{holding}",
            ours.per_s,
            "upd/s",
            theirs.updates_per_s,
            "ConversationHandler + PicklePersistence, keyword marking",
        )
    )
    report.details["conversationhandler"] = {
        "learners_holding_state": holding,
        "their_updates_per_s": theirs.updates_per_s,
        "our_updates_per_s": ours.per_s,
        "their_pickle_bytes": theirs.pickle_bytes,
        "their_save_s": theirs.save_s,
    }


async def _ours_holding(scripts: list[Script], holding: int) -> Run:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "holding.db"
        await migrated(path)
        seed_sessions(path, range(1, holding + 1))
        return await replay(scripts, bare=False, concurrent=False, database=path)


def scale_figures(report: Report, scripts_file: Path, many: int) -> None:
    start = scale.startups()
    report.add(Figure("startup_s", start.warm, "s", start.bare, "a bare PTB bot", "< 1 s"))
    report.add(
        Figure(
            "startup_cold_s", start.cold, "s", start.bare, "a bare PTB bot", "(content changed)"
        )
    )
    few = scale.measure(scripts_file, 100)
    lots = scale.measure(scripts_file, many)
    report.details["scale"] = {"few": few, "many": lots}
    report.add(
        Figure(
            f"growth_ratio_{many}",
            lots["updates_per_s"],
            "upd/s",
            few["updates_per_s"],
            "100 learners holding sessions",
            "≈ 1",
        )
    )
    report.add(
        Figure(
            f"rss_mb_{many}",
            lots["rss_mb"],
            "MB",
            few["rss_mb"],
            "100 learners holding sessions",
            "< 150 MB",
        )
    )


def report_figures(report: Report, learners: int, answers: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(bench_reports(Path(folder), learners, answers))
    report.details["reports"] = result
    for name in ("progress_query_ms", "criteria_query_ms"):
        report.add(
            Figure(
                name,
                result[name],
                "ms",
                result["one_pass_ms"],
                f"one pass over all {result['answers']:,} answers",
                "< 200 ms",
            )
        )


def reminder_figures(report: Report, learners: int, cards: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(bench_reminders(Path(folder), learners, cards))
    report.details["reminders"] = result
    report.add(
        Figure(
            f"reminders_due_0800_select_ms[{learners}]",
            result["select_ms"],
            "ms",
            result["select_scan_ms"],
            "the same query scanning the table",
            "< 1,000 ms",
        )
    )
    report.add(
        Figure(
            "reminders_next_minute_select_ms",
            result["next_minute_select_ms"],
            "ms",
            result["next_minute_select_scan_ms"],
            "the same query scanning the table",
            "< 10 ms",
        )
    )
    report.add(
        Figure(
            "reminders_due_cards_all_ms",
            result["due_cards_all_ms"],
            "ms",
            result["due_cards_scan_per_learner_us"] * result["due_at_0800"] / 1000,
            "the same reads scanning the cards table",
            "< 1,000 ms",
        )
    )


def _parts(value: str) -> set[str]:
    chosen = {part.strip() for part in value.split(",") if part.strip()}
    unknown = chosen - set(PARTS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"parts are {', '.join(PARTS)}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--learners", type=int, default=300, help="learners replayed at once")
    parser.add_argument(
        "--limited", type=int, default=12, help="learners sent through the rate limiter"
    )
    parser.add_argument(
        "--holding", type=int, default=10_000, help="learners holding state, vs PTB's way"
    )
    parser.add_argument("--many", type=int, default=100_000, help="learners holding sessions")
    parser.add_argument("--cohort", type=int, default=1_000, help="learners in the cohort")
    parser.add_argument("--answers", type=int, default=1_000, help="answers per cohort learner")
    parser.add_argument(
        "--reminded", type=int, default=100_000, help="learners with a daily reminder"
    )
    parser.add_argument(
        "--push-learners",
        type=int,
        default=1_500,
        help="learners in the push over HTTP at 30 a second (10,000 takes about 12 minutes)",
    )
    parser.add_argument(
        "--worker-learners",
        type=int,
        default=WORKER_LEARNERS,
        help="learners played through 1, 2 and 4 webhook workers on PostgreSQL, in each run"
        " (at most --learners when the dispatch or postgres part runs too)",
    )
    parser.add_argument(
        "--only",
        type=_parts,
        default=set(PARTS),
        metavar="PART[,PART]",
        help=f"run only these parts: {', '.join(PARTS)} (default: all)",
    )
    args = parser.parse_args()
    parts: set[str] = args.only
    report = Report()
    start = time.perf_counter()
    print(HEADER)
    with tempfile.TemporaryDirectory() as folder:
        scripts_file = Path(folder) / "scripts.json"
        if "dispatch" in parts:
            scripts = dispatch_figures(report, scripts_file, args.learners)
        else:
            scripts = asyncio.run(_record(scripts_file, _learners_needed(args, parts)))
        scripted: dict[str, Callable[[], None]] = {
            "postgres": lambda: postgres_figures(report, scripts),
            "workers": lambda: workers_figures(report, scripts, args.worker_learners),
            "limit": lambda: limit_figures(report, scripts, args.limited),
            "conversation": lambda: conversation_figures(report, scripts, args.holding),
        }
        for part, figures in scripted.items():
            if part in parts:
                figures()
        if "scale" in parts:
            # 100 active learners are enough to see whether idle ones slow them down.
            save_scripts(scripts[:ACTIVE_AT_SCALE], scripts_file)
            scale_figures(report, scripts_file, args.many)
    if "reports" in parts:
        report_figures(report, args.cohort, args.answers)
    if "reminders" in parts:
        reminder_figures(report, args.reminded, cards=10)
    if "micro" in parts:
        bench_micro(report)
    if "push" in parts:
        push_figures(report, args.push_learners)
    seconds = time.perf_counter() - start
    report.write(seconds)
    print(f"\n{seconds:.0f} s; written to bench/results.json")
    if report.failed:
        raise SystemExit(f"failed: {', '.join(report.failed)}")


def _learners_needed(args: argparse.Namespace, parts: set[str]) -> int:
    """Learners to record when the dispatch part (which records them) does not run."""
    needed = {
        "postgres": args.learners,
        "workers": args.worker_learners,
        "limit": args.limited,
        "conversation": ACTIVE_AT_SCALE,
        "scale": ACTIVE_AT_SCALE,
    }
    return max((n for part, n in needed.items() if part in parts), default=1)


if __name__ == "__main__":
    main()
