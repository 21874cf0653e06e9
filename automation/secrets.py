"""Secrets: encrypted at rest, resolved only inside a running step, then masked (see masking.py)."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction

from .masking import remember_secret_value
from .models import Secret


class SecretUnavailable(LookupError):
    """An unknown secret, or one the configured key cannot decrypt."""


def _fernet() -> Fernet:
    key = settings.CHECKSTACK_SECRETS_KEY
    if not key:
        digest = hashlib.sha256(f"checkstack-secrets:{settings.SECRET_KEY}".encode()).digest()
        key = base64.urlsafe_b64encode(digest)
    return Fernet(key)


@transaction.atomic
def secret_set(*, name: str, value: str) -> Secret:
    """Create or replace a secret's value."""
    secret, _ = Secret.objects.update_or_create(
        name=name, defaults={"ciphertext": _fernet().encrypt(value.encode())}
    )
    return secret


def secret_delete(*, name: str) -> None:
    Secret.objects.filter(name=name).delete()


def secret_names() -> set[str]:
    return set(Secret.objects.values_list("name", flat=True))


def secret_resolve(name: str) -> str:
    """The plaintext of a secret, added to this context's masking set."""
    row = Secret.objects.filter(name=name).values_list("ciphertext", flat=True).first()
    if row is None:
        raise SecretUnavailable(f"unknown secret {name!r}")
    try:
        value = _fernet().decrypt(bytes(row)).decode()
    except InvalidToken:
        raise SecretUnavailable(f"secret {name!r} cannot be decrypted with the configured key") from None
    remember_secret_value(value)
    return value
