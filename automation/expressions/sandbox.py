"""The Jinja2 sandbox expressions and templates run in: no Python internals, bounded output and loops."""

import json
from datetime import UTC, datetime

from django.utils import timezone

from jinja2 import ChainableUndefined, pass_context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_OUTPUT = 64 * 1024  # characters a template may render
MAX_RANGE = 10_000  # items range() may produce
READS_KEY = "__checkstack_reads__"  # the scope's EntityReads, for filters that depend on time


def _capped_range(*args):
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise OverflowError(f"range() of {len(values)} items exceeds the limit of {MAX_RANGE}")
    return values


def as_datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _now(context) -> datetime:
    reads = context.get(READS_KEY)
    if reads is not None:
        reads.time_dependent = True
    return context.get("now") or timezone.now()


@pass_context
def duration_since(context, value) -> float | None:
    """Seconds from `value` (a datetime or ISO string) until now."""
    moment = as_datetime(value)
    return None if moment is None else (_now(context) - moment).total_seconds()


@pass_context
def older_than(context, value, seconds) -> bool:
    """Whether `value` lies more than `seconds` in the past."""
    elapsed = duration_since(context, value)
    return elapsed is not None and elapsed > float(seconds)


def iso(value) -> str | None:
    moment = as_datetime(value)
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json(value) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def make_environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals = {"range": _capped_range, "dict": dict, "lipsum": None, "cycler": None, "joiner": None,
                   "namespace": None}
    env.globals = {k: v for k, v in env.globals.items() if v is not None}
    env.filters.update(
        minutes=lambda n: float(n) * 60,
        hours=lambda n: float(n) * 3600,
        older_than=older_than,
        duration_since=duration_since,
        iso=iso,
        json=_json,
    )
    return env


environment = make_environment()
