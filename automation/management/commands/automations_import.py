"""GitOps sync: make the GitOps-managed automations exactly the given files (validated first, all or nothing)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from ...services.automation_save import DocumentInvalid
from ...services.gitops import apply_sync, load_documents, plan_sync


class Command(BaseCommand):
    help = "Create, update and delete GitOps-managed automations to match the given YAML files."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--as", dest="username", required=True, help="the user the import acts as (run_as)")
        parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")

    def handle(self, *args, paths, username, dry_run, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {username!r}")
        documents, problems = load_documents(paths)
        plan, conflicts = plan_sync(documents, editor=user) if not problems else (None, [])
        for line in problems + conflicts:
            self.stdout.write(line)
        if problems or conflicts:
            raise CommandError("nothing was imported")
        for verb, names in (("create", plan.create), ("update", plan.update), ("delete", plan.delete),
                            ("unchanged", plan.unchanged)):
            for name in names:
                self.stdout.write(f"{verb}: {name}")
        if dry_run:
            self.stdout.write(f"dry run: {plan.changes} change(s) planned, none made")
            return
        try:  # the plan checked everything; this catches what changed since (a name taken meanwhile, ...)
            apply_sync(documents, plan, editor=user)
        except (DocumentInvalid, PermissionDenied) as exc:
            raise CommandError(f"{exc}; nothing was imported") from exc
        self.stdout.write(self.style.SUCCESS(f"{plan.changes} change(s) applied"))
