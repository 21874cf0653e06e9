"""Re-encrypt every secret with the newest key of CHECKSTACK_SECRETS_KEYS (then older keys can be dropped)."""

from django.core.management.base import BaseCommand, CommandError

from ...secrets import SecretUnavailable, secrets_rotate


class Command(BaseCommand):
    help = "Re-encrypt every secret with the newest configured key; changes nothing if any cannot be decrypted."

    def handle(self, *args, **options):
        try:
            count = secrets_rotate()
        except SecretUnavailable as exc:
            raise CommandError(f"{exc}; nothing was re-encrypted") from exc
        self.stdout.write(self.style.SUCCESS(f"{count} secret(s) re-encrypted with the newest key"))
