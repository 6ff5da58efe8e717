"""Fixtures of the conversations tests (the suite's shared ones are in tests/conftest.py)."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """The websocket tests (pytest.mark.anyio) run on asyncio, as Channels does."""
    return "asyncio"
