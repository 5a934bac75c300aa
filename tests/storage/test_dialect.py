"""SQLite's parameters become PostgreSQL's; nothing else in the text changes."""

import pytest

from storage.dialect import Sql, postgres_parameters


def test_plain_parameters_are_numbered_in_order() -> None:
    assert postgres_parameters("SELECT a FROM t WHERE b = ? AND c = ?") == (
        "SELECT a FROM t WHERE b = $1 AND c = $2"
    )


def test_numbered_parameters_keep_their_numbers() -> None:
    assert postgres_parameters("WHERE ?1 IS NULL OR x = ?1 AND y = ?2") == (
        "WHERE $1 IS NULL OR x = $1 AND y = $2"
    )


def test_question_marks_in_strings_identifiers_and_comments_stay() -> None:
    sql = "SELECT 'why?', \"odd?\" FROM t -- really?\nWHERE a = ?"
    assert postgres_parameters(sql) == "SELECT 'why?', \"odd?\" FROM t -- really?\nWHERE a = $1"


def test_mixing_plain_and_numbered_parameters_is_refused() -> None:
    with pytest.raises(ValueError, match="mixes"):
        postgres_parameters("WHERE a = ?1 AND b = ?")


def test_sql_picks_the_dialects_text() -> None:
    statement = Sql(sqlite="INSERT OR IGNORE INTO t VALUES (?)", postgresql="INSERT …")
    assert statement.text("sqlite").startswith("INSERT OR IGNORE")
    assert statement.text("postgresql") == "INSERT …"
