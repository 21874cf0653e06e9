"""`automation_backtest AUTOMATION --since 7d`: which runs the automation would have started, and when."""

import re
import sys
import uuid
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...engine.inspection.backtest import backtest
from ...models import Automation

UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if not match or int(match[1]) == 0:
        raise CommandError(f"--since must look like 30m, 12h or 7d, not {text!r}")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


class ProgressBar:
    """A one-line bar on stderr, redrawn at most every 1% (no dependency, no output when not a terminal)."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream, self.width, self.shown = stream, width, -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 if total == 0 else done * 100 // total
        if percent == self.shown:
            return
        self.shown = percent
        filled = self.width * percent // 100
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {done}/{total} changes")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Replay the change log through an automation's triggers and list the runs it would have started."

    def add_arguments(self, parser):
        parser.add_argument("automation", help="name or id")
        parser.add_argument("--since", default="7d", help="how far back: 30m, 12h, 7d (default 7d)")
        parser.add_argument("--skipped", action="store_true", help="also list the firings a gate stopped")

    def handle(self, *args, automation, since, skipped, **options):
        lookup = {"pk": automation} if _is_uuid(automation) else {"name": automation}
        target = Automation.objects.filter(**lookup).first()
        if target is None:
            raise CommandError(f"no automation {automation!r}")
        until = timezone.now()
        start = until - parse_since(since)
        result = backtest(automation=target, since=start, until=until, progress=ProgressBar(self.stderr._out))
        for firing in result.firings:
            if firing.started or skipped:
                verb = "would start" if firing.started else f"skipped ({firing.reason})"
                self.stdout.write(f"{firing.at.isoformat()}  {verb}  trigger={firing.trigger_id} "
                                  f"event={firing.event} context={firing.context_key or '-'}")
        for trigger_id, key, deadline in result.pending_dwells:
            self.stdout.write(f"{deadline.isoformat()}  dwell still running  trigger={trigger_id} context={key}")
        self.stdout.write(self.style.SUCCESS(
            f"{len(result.starts)} run(s) would have started from {result.events_replayed} change(s) since "
            f"{start.isoformat()} ({len(result.firings) - len(result.starts)} firing(s) stopped by a gate; "
            "state.*/health.* read today's state and the concurrency mode is not replayed)"))


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
