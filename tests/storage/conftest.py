"""Storage fixtures."""

import pytest

from tests.storage.builders import TickClock


@pytest.fixture
def clock() -> TickClock:
    return TickClock()
