"""Firing: from a trigger event to a run or a skipped record — Stage 1 (listeners, the trigger index), the
gates in order (pipeline), Stage 2 (routing), and the time gates (windows, dwells, schedules)."""
