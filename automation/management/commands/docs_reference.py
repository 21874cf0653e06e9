"""Print or rewrite docs/reference.md from the registry of triggers, actions and artifact types."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from automation.reference import render_reference


def reference_path() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "reference.md"


class Command(BaseCommand):
    help = "Print docs/reference.md as the registry describes it; --write rewrites the committed file."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="rewrite docs/reference.md")

    def handle(self, *args, write: bool = False, **options):
        text = render_reference()
        if not write:
            self.stdout.write(text, ending="")
            return
        reference_path().write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {reference_path()}")
