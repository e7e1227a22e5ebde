"""The webhook pipeline's tests drain the event log themselves, one drain at a time."""

from __future__ import annotations

import pytest

from services.platform.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(workers_enabled=False)
