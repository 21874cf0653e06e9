"""Maintenance test fixtures."""

import pytest


@pytest.fixture
def admin_user(django_user_model):
    """The root fixture's superuser, without a password: hashing one costs a second per test."""
    return django_user_model.objects.create_superuser("admin", "admin@example.com", None)
