"""Secrets automations may use; values are encrypted at rest and never shown back."""

from django.db import models


class Secret(models.Model):
    """A named secret; `ciphertext` is Fernet-encrypted with the key from settings."""

    name = models.CharField(max_length=100, unique=True)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # What an automation's run_as (and its editor) needs beyond model permissions to reach outside
        # Checkstack; declared here, with the secrets, as the one place automation-wide grants live.
        permissions = [
            ("use_secret", "Can make automations use secrets"),
            ("send_webhook", "Can make automations send webhooks"),
            ("send_email", "Can make automations send emails"),
        ]

    def __str__(self):
        return self.name
