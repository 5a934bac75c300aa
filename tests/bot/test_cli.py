"""The `coach` command: grade and content check, through its real entry point."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main


def grade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], exit_code: int = 0
) -> list[dict[str, Any]]:
    source = tmp_path / "answers.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["grade", str(source)]) == exit_code
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_core_example_is_graded_as_labelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], core_questions_file: Path
) -> None:
    contract = yaml.safe_load(core_questions_file.read_text(encoding="utf-8"))
    cases = [
        (item["id"], example["answer"], example["verdict"])
        for item in contract
        for example in item["examples"]
    ]
    lines = [json.dumps({"question_id": qid, "answer": answer}) for qid, answer, _ in cases]
    results = grade(tmp_path, capsys, lines)
    assert len(results) == len(cases)
    wrong = [
        (qid, answer, expected, result["verdict"])
        for (qid, answer, expected), result in zip(cases, results, strict=True)
        if result["verdict"] != expected
    ]
    assert wrong == []


def test_grade_output_has_every_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [result] = grade(
        tmp_path, capsys, ['{"question_id": "cra-refund-method", "answer": "same card"}']
    )
    assert set(result) == {
        "line", "question_id", "answer", "verdict", "score", "review", "missing", "unrecognised",
        "feedback", "refs",
    }  # fmt: skip
    assert result["line"] == 1
    assert result["review"] is False
    assert result["verdict"] == "partial"
    assert result["score"] == 0.5
    assert result["missing"] == ["no fee may be charged"]
    assert "Consumer Rights Act 2015" in result["feedback"]
    assert any("cra-refund-timing-method" in ref for ref in result["refs"])


def test_bad_lines_get_an_error_the_run_goes_on_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = grade(
        tmp_path,
        capsys,
        [
            '{"question_id": "no-such-question", "answer": "x"}',
            "this is not json",
            "[1, 2]",
            '{"question_id": "cra-claim-time-limit", "answer": null}',
            "",
            '{"question_id": "cra-claim-time-limit", "answer": "six years"}',
        ],
        exit_code=1,
    )
    assert [r["verdict"] for r in results] == ["error", "error", "error", "error", "correct"]
    assert [r["line"] for r in results] == [1, 2, 3, 4, 6]
    assert "unknown question id" in results[0]["message"]
    assert "invalid JSON" in results[1]["message"]


def test_grade_marks_scenario_steps_against_their_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    step = "faulty-kettle-refund/reply_refund"
    wrong_law = (
        "So sorry Mr Foster. It's past our 14 day return period so the best I can do is send it"
        " off for repair, I'll book that now."
    )
    results = grade(
        tmp_path,
        capsys,
        [
            json.dumps(
                {
                    "question_id": step,
                    "answer": "Sorry! You're in your 30 days so I'll"
                    " refund the £34.99 to your debit card now.",
                }
            ),
            json.dumps({"question_id": step, "answer": wrong_law}),
            json.dumps({"question_id": "faulty-kettle-refund/nope", "answer": "x"}),
            json.dumps({"question_id": step, "variant": "nope", "answer": "x"}),
        ],
        exit_code=1,
    )
    assert [r["verdict"] for r in results] == ["correct", "incorrect", "error", "error"]
    assert "30 days" in results[1]["feedback"]
    assert "no step 'nope'" in results[2]["message"]
    assert "no variant 'nope'" in results[3]["message"]


def test_grade_reads_choices_as_the_learner_sees_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    step = "faulty-kettle-refund/investigate"  # B is right: when he bought it
    answers = ["B", "2", 2, "option b", "I think B", "b)", "when he bought it", "A", "e", "hello"]
    results = grade(
        tmp_path, capsys, [json.dumps({"question_id": step, "answer": a}) for a in answers]
    )
    assert [r["verdict"] for r in results] == [
        "correct", "correct", "correct", "correct", "correct", "correct", "correct",
        "incorrect", "no-option", "no-option",
    ]  # fmt: skip
    assert results[8]["message"] == "There is no option E; reply A–D."


def test_content_questions_lists_bank_questions_and_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["content", "questions"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    ids = {row[0] for row in rows}
    assert {"cra-reject-window", "faulty-kettle-refund/reply_refund"} <= ids
    assert ["faulty-kettle-refund/investigate", "single", "step", "goods"] in rows


def test_grade_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="cannot read"):
        main(["grade", str(tmp_path / "nope.jsonl")])


def test_installed_console_script_grades_from_stdin() -> None:
    coach = Path(sys.executable).parent / "coach"
    result = subprocess.run(
        [str(coach), "grade", "-"],
        input='{"question_id": "gdpr-breach-72h", "answer": "within 3 days"}\n',
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout)["verdict"] == "correct"


def test_content_check_passes_and_shows_coverage(
    capsys: pytest.CaptureFixture[str], core_questions_file: Path
) -> None:
    assert main(["content", "check", "--core", str(core_questions_file)]) == 0
    out = capsys.readouterr().out
    assert "Content OK." in out
    assert out.count("  simulation  ") + out.count("  practice  ") == 22
    assert "note: core questions file not found" not in out


def test_content_diagram_prints_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "diagram", "faulty-kettle-refund"]) == 0
    out = capsys.readouterr().out
    assert "stateDiagram-v2" in out
    assert "--> debrief" in out


def test_content_diagram_of_an_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(SystemExit, match=r"no scenario 'nope'; known: .*faulty-kettle-refund"):
        main(["content", "diagram", "nope"])


def test_admin_roles_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'roles.db'}")
    monkeypatch.setenv("ADMIN_IDS", "11")
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    assert main(["admin", "grant", "42", "tutor"]) == 0
    assert main(["admin", "staff"]) == 0
    assert main(["admin", "revoke", "42"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["42 is now a tutor.", "11\tadmin", "42\ttutor", "42 is now a learner."]


def test_admin_export_writes_both_csv_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'export.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["admin", "export", "--to", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "answers.csv").read_bytes().startswith(b"learner_id")
    assert (tmp_path / "out" / "progress.csv").exists()
    assert "Wrote" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no single cohort"):
        main(["admin", "export", "--cohort", "nope"])


def test_content_citations_lists_each_citation_with_where_it_is_used(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["content", "citations", "--law", "CRA 2015"]) == 0
    out = capsys.readouterr().out
    assert "CRA 2015 s.22(3)  (" in out
    assert "knowledge/content/entries/cra-goods.yaml:" in out
    assert "UK GDPR" not in out
    assert out.rstrip().endswith("uses.")


TOKEN_LIKE = "123456789:" + "A" * 35


def test_db_status_and_upgrade_show_and_apply_the_pending_migrations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'coach.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["db", "status"]) == 0
    before = capsys.readouterr().out.splitlines()
    assert before[0] == "applied: none"
    assert before[1].startswith("pending: 0001_initial, 0002_polls")
    assert before[2] == "Run `coach db upgrade` to apply them."

    assert main(["db", "upgrade"]) == 0
    upgraded = capsys.readouterr().out.splitlines()
    assert upgraded[0] == "applied 0001_initial"
    assert upgraded[-1].endswith("migration(s) applied; the database is current.")

    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "Nothing to apply: the database is current.\n"
    assert main(["db", "status"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "pending: none"


def test_run_refuses_pending_migrations_without_auto_migrate_saying_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'coach.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN_LIKE)
    monkeypatch.setenv("AUTO_MIGRATE", "false")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=r"pending migrations .*run `coach db upgrade` first"):
        main(["run"])
    with pytest.raises(SystemExit, match=r"pending migrations .*run `coach db upgrade` first"):
        main(["console"])


def test_an_unreachable_postgresql_is_one_line_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://coach:s3cret@127.0.0.1:1/coach")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["db", "status"])
    message = str(stopped.value)
    assert message.startswith("error: cannot use the PostgreSQL database 127.0.0.1:1/coach")
    assert "s3cret" not in message
    assert "\n" not in message


def test_db_copy_copies_every_table_and_prints_the_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"sqlite:///{tmp_path / 'coach.db'}"
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    monkeypatch.setenv("DATABASE_URL", source)
    monkeypatch.chdir(tmp_path)
    assert main(["admin", "grant", "42", "tutor"]) == 0
    with pytest.raises(SystemExit, match=r"upgrade the target first"):
        main(["db", "copy", "--from", source, "--to", target])
    monkeypatch.setenv("DATABASE_URL", target)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()

    assert main(["db", "copy", "--from", source, "--to", target]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["table", "source", "target"]
    assert ["roles", "1", "1"] in [line.split() for line in out]
    assert out[-1].startswith("Copied 1 rows in ")
    with pytest.raises(SystemExit, match=r"already holds rows \(in roles\).*--replace"):
        main(["db", "copy", "--from", source, "--to", target])
    assert main(["db", "copy", "--from", source, "--to", target, "--replace"]) == 0
