"""Secrets: encrypted at rest, resolved only inside a running step, then masked (see masking.py)."""

import base64
import hashlib
from typing import Callable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction

from .masking import remember_secret_value
from .models import Secret


class SecretUnavailable(LookupError):
    """An unknown secret, or one the configured key cannot decrypt."""


def _keys() -> list[bytes]:
    """Newest first: CHECKSTACK_SECRETS_KEYS, then CHECKSTACK_SECRETS_KEY, then the SECRET_KEY-derived key.

    The derived key stays last even when keys are configured, so secrets written before the first key was
    set still decrypt until `secrets_rotate` has re-encrypted them.
    """
    configured = [*settings.CHECKSTACK_SECRETS_KEYS, settings.CHECKSTACK_SECRETS_KEY]
    digest = hashlib.sha256(f"checkstack-secrets:{settings.SECRET_KEY}".encode()).digest()
    keys = [key.strip().encode() for key in configured if key and key.strip()]
    return list(dict.fromkeys([*keys, base64.urlsafe_b64encode(digest)]))


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


@transaction.atomic
def secret_set(*, name: str, value: str) -> Secret:
    """Create or replace a secret's value."""
    secret, _ = Secret.objects.update_or_create(
        name=name, defaults={"ciphertext": _fernet().encrypt(value.encode())}
    )
    return secret


def secret_encrypt(value: str) -> bytes:
    """`value` encrypted with the newest key (for other apps' credentials, e.g. notification channels)."""
    return _fernet().encrypt(value.encode())


def secret_decrypt(ciphertext: bytes) -> str:
    """The plaintext of `secret_encrypt`'s output; raises SecretUnavailable when no key decrypts it."""
    try:
        return _fernet().decrypt(bytes(ciphertext)).decode()
    except InvalidToken:
        raise SecretUnavailable("an encrypted value cannot be decrypted with the configured key") from None


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


# Other apps' encrypted values (a notification channel's credentials), re-encrypted with the secrets: each
# rotator gets `rotate(ciphertext) -> ciphertext` and returns how many values it re-encrypted.
_rotators: list[Callable[[Callable[[bytes], bytes]], int]] = []


def register_secret_rotator(rotator: Callable[[Callable[[bytes], bytes]], int]) -> None:
    """Have `secrets_rotate` re-encrypt an app's values too, in its transaction (apps call it from ready())."""
    if rotator not in _rotators:
        _rotators.append(rotator)


def _rotate_one(fernet: MultiFernet, ciphertext: bytes) -> bytes:
    try:
        return fernet.rotate(bytes(ciphertext))
    except InvalidToken:
        raise SecretUnavailable("an encrypted value cannot be decrypted with any configured key") from None


def secrets_rotate() -> int:
    """Re-encrypt every secret (and every registered app's values) with the newest key; how many. Idempotent.

    Raises SecretUnavailable, changing nothing, if any value decrypts with none of the keys.
    """
    fernet, rotated = _fernet(), 0
    with transaction.atomic():
        for secret in Secret.objects.select_for_update().order_by("pk"):  # no concurrent set in between
            try:
                ciphertext = fernet.rotate(bytes(secret.ciphertext))
            except InvalidToken:
                raise SecretUnavailable(f"secret {secret.name!r} cannot be decrypted with any configured key") from None
            Secret.objects.filter(pk=secret.pk).update(ciphertext=ciphertext)
            rotated += 1
        for rotator in _rotators:
            rotated += rotator(lambda ciphertext: _rotate_one(fernet, ciphertext))
    return rotated
