"""Fixtures of the bot tests: the help center's articles."""

from tests.helpcenter.conftest import make_article  # noqa: F401 - a fixture, used by name
