"""Loaded only by integration-test workers: test hooks registered there, not in the test process."""

from automation.engine.timer_handlers import HANDLERS

from .support import record_timer, register, register_failing_action, register_fault_actions

register()
register_failing_action()
register_fault_actions()
# A timer kind whose firing is recorded in Redis, so a test can count firings per timer.
HANDLERS["test_count"] = record_timer
