"""Loaded only by integration-test workers: registers the test subscriber there, not in the test process."""

from .support import register

register()
