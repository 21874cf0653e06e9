"""Admin screens: the change log (read-only), automations (edited as YAML) and their runs."""

from . import automations, changes, runs, timers  # noqa: F401 - registers the ModelAdmins
