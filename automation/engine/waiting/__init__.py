"""Waiting runs and branches: waits and what resolves them (waits, trigger waits), durable timers and their handlers."""
