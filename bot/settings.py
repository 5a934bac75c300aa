"""The one settings object, read from the environment and `.env` at the entry point."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A real token is "<bot id>:<35 characters>" (BotFather); anything else is a placeholder or typo.
TOKEN_RE = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
PLACEHOLDER_WORDS = ("your", "changeme", "change-me", "token", "xxx", "placeholder", "example")


class Settings(BaseSettings):
    """Every setting the bot reads; documented one by one in `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    database_url: str = "sqlite:///./coach.db"
    auto_migrate: bool | None = None
    """Apply pending migrations on start; None: yes for SQLite, no for PostgreSQL."""
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"  # noqa: S104  # the webhook server must accept outside calls
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    timezone: str = "Europe/London"
    log_level: str = "INFO"
    core_questions_file: Path = PROJECT_ROOT.parent / "shared" / "core-questions.yaml"
    content_cache_dir: Path | None = None
    """Validated content kept between starts; None: `.content-cache` beside the database."""
    send_pacing: bool = True
    """Pace sends under Telegram's limits (bot/telegram/pacing.py). False only for `make
    bench` against an emulator with no limit, to measure the workers rather than the pace."""

    @property
    def migrates_on_start(self) -> bool:
        """AUTO_MIGRATE, or its default for the database DATABASE_URL names."""
        if self.auto_migrate is not None:
            return self.auto_migrate
        # SQLite: one process owns the file. PostgreSQL: several workers share the database,
        # so an upgrade is one deliberate step (`coach db upgrade`), not a race at start.
        return not self.database_url.startswith(POSTGRES_SCHEMES)

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value().strip()
        lowered = token.lower()
        if any(word in lowered for word in PLACEHOLDER_WORDS) or not TOKEN_RE.match(token):
            raise ValueError(
                "TELEGRAM_BOT_TOKEN does not look like a BotFather token (digits:35 characters);"
                " leave it empty to use the console chat"
            )
        return SecretStr(token)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use e.g. Europe/London)") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return level

    @model_validator(mode="after")
    def _webhook_needs_https_and_secret(self) -> Settings:
        if self.webhook_url:
            if not self.webhook_url.startswith("https://"):
                raise ValueError("WEBHOOK_URL must be an https:// URL (Telegram requires it)")
            secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
                raise ValueError(
                    "WEBHOOK_SECRET is required with WEBHOOK_URL: 1-256 of A-Z a-z 0-9 _ -"
                )
        return self

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, int):
            return (value,)
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        return value
