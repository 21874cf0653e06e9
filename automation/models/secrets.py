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

    def __str__(self):
        return self.name
