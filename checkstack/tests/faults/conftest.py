"""Fault-injection tests: CI sizes by default, `pytest --full` for the large ones."""

import pytest


@pytest.fixture
def size(request):
    """`size(ci, full)`: the number this run uses."""
    full = request.config.getoption("--full")
    return lambda ci, full_size: full_size if full else ci
