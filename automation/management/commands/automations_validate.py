"""Validate automation files; prints `file:path: message` per problem and exits 1 if any."""

from django.core.management.base import BaseCommand, CommandError

from ...services.gitops import load_documents


class Command(BaseCommand):
    help = "Validate automation documents (YAML/JSON files or directories) without changing anything."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")

    def handle(self, *args, paths, **options):
        documents, problems = load_documents(paths)
        for line in problems:
            self.stdout.write(line)
        if problems:
            raise CommandError(f"{len(problems)} problem(s) found")
        self.stdout.write(self.style.SUCCESS(f"{len(documents)} document(s) valid"))
