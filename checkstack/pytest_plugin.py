"""Loaded by pytest before Django is configured (see pytest.ini): the environment tests run in."""

import os

# Settings require SECRET_KEY outside debug; tests run with debug off, like production.
os.environ.setdefault("SECRET_KEY", "checkstack-tests-only")
