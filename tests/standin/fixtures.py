"""Pytest fixtures for the Evolution API stand-in. They need no database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.instances.evolution import EvolutionClient
from tests.standin.evolution import EvolutionStandIn


@pytest.fixture
async def evolution() -> AsyncIterator[EvolutionStandIn]:
    """A stand-in on a free loopback port: `.url`, `.api_key` (its global key), `.down_url`."""
    async with EvolutionStandIn.serve() as standin:
        yield standin


@pytest.fixture
async def evolution_client(evolution: EvolutionStandIn) -> AsyncIterator[EvolutionClient]:
    """A client of the stand-in with short timeouts, so failure paths stay quick."""
    client = EvolutionClient(evolution.url, evolution.api_key, timeout=2.0, retry_seconds=0.5)
    try:
        yield client
    finally:
        await client.aclose()
