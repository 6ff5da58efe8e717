"""Fixtures of the reports tests (the suite's shared ones are in tests/conftest.py)."""

import pytest


@pytest.fixture
def manager(make_agent):
    """A superuser who reads the reports."""
    return make_agent("manager@example.com", is_superuser=True)


@pytest.fixture
def manager_api(manager):
    """An API client authenticated as `manager`."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(manager)
    return client
