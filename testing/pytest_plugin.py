"""Loaded by pytest before Django is configured (see pytest.ini): the environment tests run in."""

import os

# Settings require SECRET_KEY outside debug; tests run with debug off, like production.
os.environ.setdefault("SECRET_KEY", "checkstack-tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
# Unit tests wake no real worker: wake-ups go to an in-process broker. Integration tests set Redis.
os.environ.setdefault("CELERY_BROKER_URL", "memory://")


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False,
                     help="fault-injection tests at their full sizes (manual runs; CI uses the small ones)")
