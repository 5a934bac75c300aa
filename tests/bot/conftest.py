"""Bot fixtures: the application built on a recording fake of the Bot API."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_application
from bot.settings import Settings
from bot.telegram.context import CoachApplication
from tests.bot.fakes import RecordingRequest, Updates, settings_for
from tests.conftest import TEST_SCENARIOS


@pytest.fixture
def fake() -> RecordingRequest:
    return RecordingRequest()


@pytest.fixture(scope="session")
def content_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One content cache for the session's bots: the first loads and validates the content,
    the others read it, as a restarted bot does (tests/bot/test_content.py checks the cache)."""
    return tmp_path_factory.mktemp("content-cache")


@pytest.fixture
def settings(tmp_path: Path, content_cache: Path) -> Settings:
    return settings_for(tmp_path / "bot.db", content_cache=content_cache)


@pytest.fixture
async def app(settings: Settings, fake: RecordingRequest) -> AsyncIterator[CoachApplication]:
    application = build_application(settings, request=fake, scenario_dir=TEST_SCENARIOS)
    async with application:
        # What run_polling does, minus the polling: tests feed updates with process_update.
        await application.post_init(application)  # type: ignore[misc]  # set at build
        await application.start()
        yield application
        await application.stop()
        await application.post_shutdown(application)  # type: ignore[misc]
    assert fake.unexpected == [], f"unexpected Bot API calls: {fake.unexpected}"


@pytest.fixture
def updates(app: CoachApplication) -> Updates:
    return Updates(app.bot)
