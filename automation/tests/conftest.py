"""Fixtures for automation's tests."""

import pytest

from automation.tests.engine_support import registered_test_actions


@pytest.fixture
def journal():
    """The test actions registered for the test; what they did, in order (engine_support.Journal)."""
    yield from registered_test_actions()
