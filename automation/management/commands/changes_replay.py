"""Replay parked change events once what stopped them is fixed: `changes_replay CHANGE_ID... | --all-parked`."""

from django.core.management.base import BaseCommand, CommandError

from automation.entities.delivery import change_replay
from automation.models import ChangeEvent


class Command(BaseCommand):
    help = "Route parked change events again, each with its own occurred_at as the clock."

    def add_arguments(self, parser):
        parser.add_argument("change_ids", nargs="*", help="change ids of parked change events")
        parser.add_argument("--all-parked", action="store_true", help="every parked change, oldest first")

    def handle(self, *args, change_ids, all_parked, **options):
        if bool(change_ids) == bool(all_parked):
            raise CommandError("give change ids or --all-parked (not both)")
        if all_parked:
            change_ids = [str(c) for c in ChangeEvent.objects.filter(parked_at__isnull=False, routed_at=None)
                          .order_by("id").values_list("change_id", flat=True)]
        failed = 0
        for change_id in change_ids:
            result = change_replay(change_id=change_id, actor="system:changes_replay")
            if result.routed:
                self.stdout.write(f"{change_id}: routed")
            else:
                failed += 1
                self.stderr.write(f"{change_id}: not routed: {result.error}")
        if failed:
            raise CommandError(f"{failed} of {len(change_ids)} change(s) not routed")
