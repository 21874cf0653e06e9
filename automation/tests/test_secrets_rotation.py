"""Secrets keys rotate: the newest key encrypts, older ones decrypt, `secrets_rotate` re-encrypts everything."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command

from automation.models import Secret
from automation.secrets import SecretUnavailable, secret_resolve, secret_set

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def ciphertext(name: str) -> bytes:
    return bytes(Secret.objects.get(name=name).ciphertext)


def test_a_new_key_encrypts_while_the_old_one_still_decrypts(settings):
    settings.CHECKSTACK_SECRETS_KEYS, settings.CHECKSTACK_SECRETS_KEY = [], OLD  # the single key keeps working
    secret_set(name="A", value="alpha")
    settings.CHECKSTACK_SECRETS_KEYS = [NEW]
    secret_set(name="B", value="beta")
    assert (secret_resolve("A"), secret_resolve("B")) == ("alpha", "beta")
    assert Fernet(OLD).decrypt(ciphertext("A")) == b"alpha"
    assert Fernet(NEW).decrypt(ciphertext("B")) == b"beta"


def test_rotate_reencrypts_every_secret_with_the_newest_key(settings):
    settings.CHECKSTACK_SECRETS_KEYS, settings.CHECKSTACK_SECRETS_KEY = [OLD], ""
    secret_set(name="A", value="alpha")
    secret_set(name="B", value="beta")
    settings.CHECKSTACK_SECRETS_KEYS = [NEW, OLD]
    out = StringIO()
    call_command("secrets_rotate", stdout=out)
    assert out.getvalue().strip() == "2 secret(s) re-encrypted with the newest key"
    assert [Fernet(NEW).decrypt(ciphertext(n)) for n in "AB"] == [b"alpha", b"beta"]
    with pytest.raises(InvalidToken):
        Fernet(OLD).decrypt(ciphertext("A"))
    settings.CHECKSTACK_SECRETS_KEYS = [NEW]  # the old key can now be dropped
    assert secret_resolve("B") == "beta"


def test_secrets_written_with_the_derived_key_stay_readable_once_keys_are_set(settings):
    settings.CHECKSTACK_SECRETS_KEYS, settings.CHECKSTACK_SECRETS_KEY = [], ""
    secret_set(name="A", value="alpha")
    settings.CHECKSTACK_SECRETS_KEYS = [NEW]
    assert secret_resolve("A") == "alpha"
    call_command("secrets_rotate", stdout=StringIO())
    assert Fernet(NEW).decrypt(ciphertext("A")) == b"alpha"


def test_rotate_changes_nothing_when_a_secret_cannot_be_decrypted(settings):
    settings.CHECKSTACK_SECRETS_KEYS, settings.CHECKSTACK_SECRETS_KEY = [OLD], ""
    secret_set(name="A", value="alpha")
    secret_set(name="Z", value="zulu")
    Secret.objects.filter(name="Z").update(ciphertext=Fernet(Fernet.generate_key()).encrypt(b"lost"))
    before = {name: ciphertext(name) for name in "AZ"}
    settings.CHECKSTACK_SECRETS_KEYS = [NEW, OLD]
    with pytest.raises(CommandError, match="secret 'Z' cannot be decrypted with any configured key; nothing"):
        call_command("secrets_rotate", stdout=StringIO())
    assert {name: ciphertext(name) for name in "AZ"} == before
    with pytest.raises(SecretUnavailable):
        secret_resolve("Z")
