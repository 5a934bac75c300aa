"""Settings are built directly in tests; bad values are refused with a clear message."""

import pytest
from pydantic import ValidationError

from bot.settings import Settings

REAL_LOOKING = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def test_defaults_need_no_token() -> None:
    settings = Settings(_env_file=None)
    assert settings.telegram_bot_token is None
    assert settings.database_url == "sqlite:///./coach.db"
    assert settings.timezone == "Europe/London"


def test_real_looking_token_is_accepted_and_hidden() -> None:
    settings = Settings(telegram_bot_token=REAL_LOOKING, _env_file=None)  # type: ignore[arg-type]
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == REAL_LOOKING
    assert REAL_LOOKING not in repr(settings)


@pytest.mark.parametrize("token", ["your-token-here", "changeme", "123:abc", "<TOKEN>"])
def test_placeholder_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="does not look like a BotFather token"):
        Settings(telegram_bot_token=token, _env_file=None)  # type: ignore[arg-type]


def test_empty_token_means_console() -> None:
    settings = Settings(telegram_bot_token="  ", _env_file=None)  # type: ignore[arg-type]
    assert settings.telegram_bot_token is None


def test_admin_ids_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "111, 222")
    assert Settings(_env_file=None).admin_ids == (111, 222)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "unknown time zone"),
        ("log_level", "LOUD", "LOG_LEVEL must be"),
        ("webhook_port", 70000, "less than or equal"),
    ],
)
def test_bad_values_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value}, _env_file=None)  # type: ignore[arg-type]


def test_auto_migrate_defaults_on_for_sqlite_and_off_for_postgresql() -> None:
    assert Settings(_env_file=None).migrates_on_start
    postgres = "postgresql://coach@db/coach"
    assert not Settings(database_url=postgres, _env_file=None).migrates_on_start
    assert Settings(database_url=postgres, auto_migrate=True, _env_file=None).migrates_on_start
    assert not Settings(auto_migrate=False, _env_file=None).migrates_on_start
