"""The `coach` command: one entry point with subcommands."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot.app import PollingTakenError, content_cache_dir
from bot.app import run as run_telegram
from bot.console import run_console
from bot.content import Content, load_content
from bot.logs import install_redaction
from bot.settings import Settings
from flows.engine import Coach
from flows.loader import SCENARIO_DIR, ScenarioContent, load_scenarios
from flows.machine import mermaid_diagram
from flows.questions import UnknownQuestionError, all_askables, find_askable, own_questions
from knowledge.checks import ContentReport, StepQuestion, check_content, load_core_contract
from knowledge.choices import read_choice
from knowledge.citations import Usage, citation_key, usages
from knowledge.loader import (
    CONTENT_DIR,
    ContentError,
    KnowledgeBase,
    load_knowledge_base,
    read_document,
)
from knowledge.marking import mark
from knowledge.models import ChoiceQuestion, OrderQuestion
from storage.copy import CopyRefusedError, copy_database
from storage.database import Database, DatabaseUnavailableError
from storage.databases import UPGRADE_COMMAND, PendingMigrationsError, open_current, open_database
from storage.reports import SqliteReportStore
from storage.reviews import SqliteReviewStore
from storage.revision import SqliteRevisionStore
from storage.sqlite import SqliteProgressStore
from storage.staff import SqliteStaffStore, find_cohort
from tutoring import reports
from tutoring.examples import examples_yaml
from tutoring.ports import ReviewItem
from tutoring.revision import Revision


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Database]:
    """The database DATABASE_URL names, with every migration applied (on opening only if
    AUTO_MIGRATE allows it); closed on leaving."""
    try:
        database = await open_current(
            settings.database_url, auto_migrate=settings.migrates_on_start
        )
    except ValueError as error:
        raise SystemExit(f"error: bad setting: DATABASE_URL: {error}") from None
    try:
        yield database
    finally:
        await database.close()


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']).upper()}: "
            + e["msg"].removeprefix("Value error, ")
            for e in error.errors()
        )
        raise SystemExit(f"error: bad setting: {problems}") from None


def _knowledge() -> KnowledgeBase:
    try:
        return load_knowledge_base()
    except ContentError as error:
        raise SystemExit(f"error: invalid content: {error}") from None


def _content(settings: Settings) -> Content:
    """The content the bot serves: validated, or as validated at an earlier start of exactly
    the same files (the content cache; `coach content check` always validates afresh)."""
    try:
        return load_content(cache_dir=content_cache_dir(settings))
    except ValueError as error:
        raise SystemExit(f"error: bad setting: DATABASE_URL: {error}") from None
    except ContentError as error:
        raise SystemExit(f"error: invalid content: {error}") from None


# ---------------------------------------------------------------- coach content check


def _content_check(args: argparse.Namespace) -> int:
    settings = _settings()
    kb = _knowledge()
    core_file = Path(args.core) if args.core else settings.core_questions_file
    contract = load_core_contract(core_file) if core_file.exists() else None
    scenarios = _scenarios(kb)
    steps = [
        StepQuestion(askable.id, askable.question, askable.case)
        for askable in own_questions(kb, scenarios)
    ]
    report = check_content(kb, contract, _scenario_criteria(kb), steps)
    _print_report(kb, report, sys.stdout)
    return 0 if report.ok else 1


def _scenario_criteria(kb: KnowledgeBase) -> dict[str, int]:
    """How many scenarios evidence each criterion."""
    counts: Counter[str] = Counter()
    for content in _scenarios(kb).values():
        counts.update(content.criteria())
    return dict(counts)


def _scenarios(kb: KnowledgeBase) -> dict[str, ScenarioContent]:
    try:
        return load_scenarios(kb)
    except ContentError as error:
        raise SystemExit(f"error: invalid content: {error}") from None


# ---------------------------------------------------------------- coach content diagram


def _content_diagram(args: argparse.Namespace) -> int:
    kb = _knowledge()
    scenarios = _scenarios(kb)
    content = scenarios.get(args.scenario)
    if content is None:
        known = ", ".join(sorted(scenarios))
        raise SystemExit(f"error: no scenario {args.scenario!r}; known: {known}")
    sys.stdout.write(mermaid_diagram(content) + "\n")
    return 0


# ---------------------------------------------------------------- coach content citations


def _content_citations(args: argparse.Namespace) -> int:
    """Every distinct legal citation in the content, with where each is used."""
    _scenarios(_knowledge())  # loading refuses malformed citations, with file and line
    found = citation_usages([CONTENT_DIR, SCENARIO_DIR])
    wanted = args.law.lower() if args.law else None
    shown = {c: u for c, u in found.items() if wanted is None or wanted in c.lower()}
    for citation in sorted(shown, key=citation_key):
        where = shown[citation]
        sys.stdout.write(f"{citation}  ({len(where)} use{'s' if len(where) > 1 else ''})\n")
        for usage in where:
            sys.stdout.write(f"    {usage.path}:{usage.line} ({usage.field})\n")
    uses = sum(len(u) for u in shown.values())
    sys.stdout.write(f"\n{len(shown)} distinct citations, {uses} uses.\n")
    return 0


def citation_usages(folders: Sequence[Path]) -> dict[str, list[Usage]]:
    """Citation -> its usages, over every YAML file under the folders."""
    found: defaultdict[str, list[Usage]] = defaultdict(list)
    for folder in folders:
        for path in sorted(folder.rglob("*.yaml")):
            document = read_document(path)
            for usage in usages(document.root, _shown_path(path)):
                found[usage.citation].append(usage)
    return dict(found)


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- coach console / start


def _console(args: argparse.Namespace) -> int:
    del args
    settings = _settings()
    asyncio.run(_run_console(settings))
    return 0


async def _run_console(settings: Settings) -> None:
    content = _content(settings)
    kb, scenarios = content.kb, content.scenarios
    async with _database(settings) as database:
        store = SqliteProgressStore(database)
        revision = Revision(SqliteRevisionStore(database), ZoneInfo(settings.timezone))
        await run_console(Coach(kb, scenarios, store, revision=revision))


async def _check_database(settings: Settings) -> None:
    async with _database(settings):
        pass


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # At any level, from any library: PTB logs the Bot API URL (with the token) at DEBUG.
    token = settings.telegram_bot_token
    secrets = [token.get_secret_value()] if token is not None else []
    if settings.webhook_secret is not None:
        secrets.append(settings.webhook_secret.get_secret_value())
    install_redaction(*secrets)


def _run(args: argparse.Namespace) -> int:
    del args
    settings = _settings()
    if settings.telegram_bot_token is None:
        raise SystemExit("error: TELEGRAM_BOT_TOKEN is not set (see .env.example)")
    # Validate all content before connecting: invalid content stops the start.
    content = _content(settings)
    _configure_logging(settings)
    # Before the bot starts: an unreachable database or pending migrations stop it in one line.
    asyncio.run(_check_database(settings))
    try:
        run_telegram(settings, content)
    except PollingTakenError as error:
        raise SystemExit(f"error: {error}") from None
    return 0


def _start(args: argparse.Namespace) -> int:
    settings = _settings()
    if settings.telegram_bot_token is None:
        sys.stdout.write("No TELEGRAM_BOT_TOKEN set: starting the console chat.\n")
        return _console(args)
    return _run(args)


def _print_report(kb: KnowledgeBase, report: ContentReport, out: TextIO) -> None:
    types = Counter(q.type for q in kb.questions.values())
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(types.items()))
    out.write(
        f"Loaded {len(kb.entries)} entries, {len(kb.questions)} questions ({kinds}),"
        f" {len(kb.quizzes)} quizzes, {len(kb.criteria)} criteria.\n"
        f"Marked {report.examples_checked} example answers.\n\n"
    )
    out.write(f"{'criterion':<16} {'questions':>9} {'scenarios':>9}  evidence    title\n")
    for row in report.coverage:
        flag = "" if row.total >= 2 else "  <-- needs more"
        out.write(
            f"{row.code:<16} {row.questions:>9} {row.scenarios:>9}  {row.evidence:<10}  "
            f"{row.title[:60]}{flag}\n"
        )
    for note in report.notes:
        out.write(f"note: {note}\n")
    for problem in report.problems:
        out.write(f"problem: {problem}\n")
    out.write("\nContent OK.\n" if report.ok else f"\n{len(report.problems)} problem(s).\n")


# ---------------------------------------------------------------- coach admin


def _admin(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.admin_command != "export":
        return asyncio.run(_admin_roles(settings, args))
    files, summary = asyncio.run(_export(settings, args))
    folder = Path(args.to)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    sys.stdout.write(f"Wrote {', '.join(str(folder / n) for n in files)} ({summary}).\n")
    return 0


async def _admin_roles(settings: Settings, args: argparse.Namespace) -> int:
    async with _database(settings) as database:
        staff = SqliteStaffStore(database, admin_ids=settings.admin_ids)
        if args.admin_command == "grant":
            await staff.grant(args.user_id, args.role, by=0)
            sys.stdout.write(f"{args.user_id} is now a {args.role}.\n")
        elif args.admin_command == "revoke":
            await staff.revoke(args.user_id)
            sys.stdout.write(f"{args.user_id} is now a {await staff.role_of(args.user_id)}.\n")
        else:
            for user_id, role in await staff.staff():
                sys.stdout.write(f"{user_id}\t{role}\n")
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> tuple[dict[str, bytes], str]:
    """The two CSV files for everyone or one cohort, and a summary line."""
    kb = _knowledge()
    async with _database(settings) as database:
        staff = SqliteStaffStore(database, admin_ids=settings.admin_ids)
        cohort_id = None
        if args.cohort:
            cohort = find_cohort(await staff.cohorts(), args.cohort)
            if cohort is None:
                raise SystemExit(f"error: no single cohort named or coded {args.cohort!r}")
            cohort_id = cohort.id
        report_store = SqliteReportStore(database)
        rows = await report_store.learner_summaries(cohort_id)
        answers = await report_store.answers_of(r.learner_id for r in rows)
    files = {
        "answers.csv": reports.answers_csv(answers, rows),
        "progress.csv": reports.progress_csv(rows, kb),
    }
    return files, f"{len(answers)} answers, {len(rows)} learners"


# ---------------------------------------------------------------- coach db


def _db(args: argparse.Namespace) -> int:
    if args.db_command == "copy":
        return asyncio.run(_db_copy(args))
    settings = _settings()
    return asyncio.run(_db_migrations(settings.database_url, upgrade=args.db_command == "upgrade"))


async def _open_plain(url: str) -> Database:
    """The database at `url` as it is: no migration applied on opening."""
    try:
        return await open_database(url, migrate=False)
    except ValueError as error:
        raise SystemExit(f"error: bad database URL: {error}") from None


async def _db_migrations(url: str, *, upgrade: bool) -> int:
    database = await _open_plain(url)
    try:
        status = await database.migration_status()
        if upgrade:
            applied = await database.upgrade()
            for migration in applied:
                sys.stdout.write(f"applied {migration.name}\n")
            sys.stdout.write(
                f"{len(applied)} migration(s) applied; the database is current.\n"
                if applied
                else "Nothing to apply: the database is current.\n"
            )
            return 0
    finally:
        await database.close()
    sys.stdout.write(f"applied: {', '.join(f'{v:04d}' for v in status.applied) or 'none'}\n")
    pending = ", ".join(migration.name for migration in status.pending)
    sys.stdout.write(f"pending: {pending or 'none'}\n")
    if status.pending:
        sys.stdout.write(f"Run `{UPGRADE_COMMAND}` to apply them.\n")
    return 0


async def _db_copy(args: argparse.Namespace) -> int:
    if args.source == args.target:
        raise SystemExit("error: --from and --to name the same database")
    source = await _open_plain(args.source)
    try:
        target = await _open_plain(args.target)
        try:
            report = await copy_database(source, target, replace=args.replace)
        except CopyRefusedError as error:
            raise SystemExit(f"error: {error}") from None
        finally:
            await target.close()
    finally:
        await source.close()
    sys.stdout.write(f"{'table':<20} {'source':>9} {'target':>9}\n")
    for table in report.tables:
        flag = "" if table.source_rows == table.target_rows else "  <-- MISMATCH"
        sys.stdout.write(f"{table.name:<20} {table.source_rows:>9} {table.target_rows:>9}{flag}\n")
    if not report.ok:
        sys.stdout.write("The copy's row counts differ from the source's (marked above).\n")
        return 1
    rows = sum(table.target_rows for table in report.tables)
    sys.stdout.write(f"Copied {rows} rows in {len(report.tables)} tables; counts match.\n")
    return 0


# ---------------------------------------------------------------- coach grade


def grade_lines(
    kb: KnowledgeBase, scenarios: Mapping[str, ScenarioContent], lines: Iterator[str]
) -> Iterator[dict[str, object]]:
    """Mark JSON lines {"question_id", "answer"[, "variant"]}; one result per non-empty line,
    each carrying its input line number. A question id is a bank id or SCENARIO/STEP; a choice
    is a letter, the option's words, or a number counted as the learner sees it (1 is A)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield {"line": number, "verdict": "error", "message": f"invalid JSON: {error.msg}"}
            continue
        if not isinstance(item, dict):
            yield {"line": number, "verdict": "error", "message": "expected a JSON object"}
            continue
        question_id = item.get("question_id")
        answer = item.get("answer")
        variant = item.get("variant")
        head: dict[str, object] = {"line": number, "question_id": question_id, "answer": answer}
        if variant is not None:
            head["variant"] = variant
        try:
            askable = find_askable(
                kb, scenarios, str(question_id), None if variant is None else str(variant)
            )
        except UnknownQuestionError as error:
            yield {**head, "verdict": "error", "message": str(error)}
            continue
        text = _answer_text(answer)
        if text is None:
            yield {
                **head,
                "verdict": "error",
                "message": "answer must be a string (or numbers as the learner sees them)",
            }
            continue
        question = askable.question
        if isinstance(question, ChoiceQuestion | OrderQuestion):
            reading = read_choice(question, text)
            if reading.problem is not None:
                yield {**head, "verdict": "no-option", "message": reading.problem}
                continue
        verdict = mark(question, text, askable.case)
        yield {
            **head,
            "verdict": verdict.outcome,
            "score": verdict.score,
            "review": verdict.review,
            "missing": list(verdict.missing),
            "unrecognised": list(verdict.unrecognised),
            "feedback": verdict.feedback,
            "refs": kb.citations(question),
        }


def _answer_text(answer: object) -> str | None:
    """The answer as the learner would type it: numbers count from 1, as they are shown."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, int) and not isinstance(answer, bool):
        return str(answer)
    if isinstance(answer, list) and answer and all(isinstance(a, int) for a in answer):
        return " ".join(str(a) for a in answer)
    return None


def _grade(args: argparse.Namespace) -> int:
    kb = _knowledge()
    scenarios = _scenarios(kb)
    if args.file == "-":
        source: TextIO = sys.stdin
    else:
        try:
            source = Path(args.file).open(encoding="utf-8")  # noqa: SIM115  # closed below
        except OSError as error:
            raise SystemExit(f"error: cannot read {args.file}: {error.strerror}") from None
    errors = 0
    try:
        for result in grade_lines(kb, scenarios, iter(source)):
            errors += result["verdict"] == "error"
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    finally:
        if source is not sys.stdin:
            source.close()
    if errors:
        sys.stderr.write(f'{errors} line(s) could not be marked (see "error" lines)\n')
    return 1 if errors else 0


# ---------------------------------------------------------------- coach content questions


def _content_questions(args: argparse.Namespace) -> int:
    del args
    kb = _knowledge()
    for askable in all_askables(kb, _scenarios(kb)):
        question = askable.question
        where = "step" if askable.case is not None else ("core" if question.core else "bank")
        sys.stdout.write(f"{askable.id}\t{question.type}\t{where}\t{question.topic}\n")
    return 0


# ---------------------------------------------------------------- coach content examples


def _content_examples(args: argparse.Namespace) -> int:
    settings = _settings()
    kb = _knowledge()
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise SystemExit(
                f"error: --since wants a date like 2026-12-01, not {args.since!r}"
            ) from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    where = {
        askable.question.id: (
            f"scenario step {askable.id} (its `ask:` block)"
            if askable.case is not None
            else f"bank question {askable.id}"
        )
        for askable in all_askables(kb, _scenarios(kb))
    }
    sys.stdout.write(examples_yaml(asyncio.run(_decided(settings, since)), where))
    return 0


async def _decided(settings: Settings, since: datetime | None) -> list[ReviewItem]:
    async with _database(settings) as database:
        return await SqliteReviewStore(database).decided_since(since)


# ---------------------------------------------------------------- wiring


def build_parser() -> argparse.ArgumentParser:
    """The `coach` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="coach", description="Aftercare Coach")
    commands = parser.add_subparsers(dest="command", required=True)

    content = commands.add_parser("content", help="check and inspect content files")
    content_commands = content.add_subparsers(dest="content_command", required=True)
    check = content_commands.add_parser("check", help="validate all content and show coverage")
    check.add_argument("--core", help="the core questions contract (default: CORE_QUESTIONS_FILE)")
    check.set_defaults(handler=_content_check)
    listing = content_commands.add_parser(
        "questions", help="every question id a learner can meet (bank ids and SCENARIO/STEP)"
    )
    listing.set_defaults(handler=_content_questions)

    diagram = content_commands.add_parser(
        "diagram", help="print a scenario's state machine as a Mermaid diagram"
    )
    diagram.add_argument("scenario")
    diagram.set_defaults(handler=_content_diagram)

    examples = content_commands.add_parser(
        "examples", help="tutors' overrides as ready-to-paste rubric examples"
    )
    examples.add_argument(
        "--from-reviews", action="store_true", required=True, help="from the review queue"
    )
    examples.add_argument("--since", help="only decisions from this date (YYYY-MM-DD) on")
    examples.set_defaults(handler=_content_examples)

    cited = content_commands.add_parser(
        "citations", help="list every distinct legal citation and where it is used"
    )
    cited.add_argument("--law", help="only citations of this law, e.g. 'CRA 2015' or 'GDPR'")
    cited.set_defaults(handler=_content_citations)

    console = commands.add_parser("console", help="chat with the coach in this terminal")
    console.set_defaults(handler=_console)
    start = commands.add_parser(
        "start", help="the Telegram bot if TELEGRAM_BOT_TOKEN is set, else the console chat"
    )
    start.set_defaults(handler=_start)
    run = commands.add_parser("run", help="run the Telegram bot")
    run.set_defaults(handler=_run)

    admin = commands.add_parser("admin", help="tutor and admin roles (for scripts)")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    grant_role = admin_commands.add_parser("grant", help="make a Telegram user a tutor or admin")
    grant_role.add_argument("user_id", type=int)
    grant_role.add_argument("role", choices=["tutor", "admin"])
    revoke_role = admin_commands.add_parser("revoke", help="take a user's role away")
    revoke_role.add_argument("user_id", type=int)
    admin_commands.add_parser("staff", help="list tutors and admins")
    export = admin_commands.add_parser("export", help="write answers.csv and progress.csv")
    export.add_argument("--cohort", help="a cohort name or join code (default: everyone)")
    export.add_argument("--to", default=".", help="the folder to write to (default: here)")
    admin.set_defaults(handler=_admin)

    db = commands.add_parser("db", help="the database: migrations, and copying it")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("status", help="applied and pending migrations (DATABASE_URL)")
    db_commands.add_parser("upgrade", help="apply the pending migrations (DATABASE_URL)")
    copy = db_commands.add_parser(
        "copy", help="copy every table into an empty database, e.g. SQLite to PostgreSQL"
    )
    copy.add_argument("--from", dest="source", required=True, help="e.g. sqlite:///./coach.db")
    copy.add_argument("--to", dest="target", required=True, help="e.g. postgresql://host/coach")
    copy.add_argument(
        "--replace", action="store_true", help="overwrite a target that already holds rows"
    )
    db.set_defaults(handler=_db)

    grade = commands.add_parser("grade", help="mark JSON-lines answers from FILE (or - for stdin)")
    grade.add_argument("file")
    grade.set_defaults(handler=_grade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `coach` command."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except (DatabaseUnavailableError, PendingMigrationsError) as error:
        raise SystemExit(f"error: {error}") from None
    return result


if __name__ == "__main__":
    sys.exit(main())
