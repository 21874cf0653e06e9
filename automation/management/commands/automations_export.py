"""Write every automation's document to DIR as one YAML file each."""

from pathlib import Path

from django.core.management.base import BaseCommand

from ...services.gitops import export_all


class Command(BaseCommand):
    help = "Export every automation as DIR/<name>.yaml."

    def add_arguments(self, parser):
        parser.add_argument("directory")

    def handle(self, *args, directory, **options):
        for path in export_all(Path(directory)):
            self.stdout.write(str(path))
