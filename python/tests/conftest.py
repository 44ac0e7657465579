from __future__ import annotations

import pytest
from harness import Child


@pytest.fixture
def children():  # type: ignore[no-untyped-def]
    """Processes a test started; any still running at its end are killed."""
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()
