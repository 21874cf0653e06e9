"""Demo systems, a self-check with synthetic history, an incident, a maintenance window and the template
automations (idempotent)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from checkstack.demo import demo_install


class Command(BaseCommand):
    help = ("Install demo data and the template automations; a second run changes nothing. Includes a system "
            "'Checkstack' whose health comes from an HTTP check of CHECKSTACK_PUBLIC_URL/healthz; so that the "
            "status page has history at once, that check is given SYNTHETIC history when created: two days of "
            "made-up results (errors marked 'demo: synthetic') and four weeks of made-up daily roll-ups.")

    def add_arguments(self, parser):
        parser.add_argument("--as", dest="username", help="the user the automations run as (default: the first "
                                                          "active superuser)")

    def handle(self, *args, username=None, **options):
        users = get_user_model().objects.filter(is_active=True)
        candidates = users.filter(username=username) if username else users.filter(is_superuser=True)
        editor = candidates.order_by("pk").first()
        if editor is None:
            raise CommandError(f"no active user named {username!r}" if username else
                               "no active superuser: create one (manage.py createsuperuser) or pass --as USER")
        result = demo_install(editor=editor)
        for line in result.created:
            self.stdout.write(f"created: {line}")
        for line in result.unchanged:
            self.stdout.write(f"unchanged: {line}")
        self.stdout.write(self.style.SUCCESS(f"{len(result.created)} created, {len(result.unchanged)} unchanged"))
