"""`manage.py checkstack_prober --url URL --token T [--concurrency N]`: run a remote prober for one location."""

import logging
import signal

from django.core.management.base import BaseCommand, CommandError

from checks.prober.client import ProberClient
from checks.prober.loop import Prober


class Command(BaseCommand):
    help = "Run checks for a location: claim them from Checkstack over HTTP(S), run them, post the results."
    # A prober has no database: Django's system checks (some read it) are not run.
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="Checkstack's base URL, e.g. https://status.example.com")
        parser.add_argument("--token", required=True, help="The location's prober token.")
        parser.add_argument("--concurrency", type=int, default=10, help="Checks run at once (default 10).")

    def handle(self, *args, url, token, concurrency, **options):
        if not url.startswith(("http://", "https://")):
            raise CommandError("--url must start with http:// or https://")
        if not 1 <= concurrency <= 1000:
            raise CommandError("--concurrency must be between 1 and 1000")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        prober = Prober(ProberClient(url, token), concurrency=concurrency)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: prober.stop())
        self.stdout.write(f"checkstack prober started: {url} (concurrency {concurrency})", ending="\n")
        self.stdout.flush()
        prober.run()
        self.stdout.write("checkstack prober stopped")
