"""A channel's credentials at rest: one encrypted JSON object, decrypted only to send, masked once decrypted."""

import json
import re
from urllib.parse import parse_qsl, urlsplit

from automation.masking import remember_secret_value
from automation.secrets import secret_decrypt, secret_encrypt

from .models import Channel


def seal(secret_parts: dict) -> bytes:
    """The stored form of a channel's secret config parts (b"" for none)."""
    return secret_encrypt(json.dumps(secret_parts, sort_keys=True)) if secret_parts else b""


def unseal(channel: Channel) -> dict:
    """The channel's secret config parts; each value is masked in this context's logs and errors from now on."""
    stored = bytes(channel.secret_config or b"")
    if not stored:
        return {}
    parts = json.loads(secret_decrypt(stored))
    for value in parts.values():
        if isinstance(value, str):
            for piece in secret_pieces(value):
                remember_secret_value(piece)
    return parts


def secret_pieces(value: str) -> list[str]:
    """`value`, and for a URL the tokens inside it: a service quoting only its path must not unmask it."""
    if not re.match(r"^https?://", value):
        return [value]
    parts = urlsplit(value)
    tokens = [parts.path, parts.query, *parts.path.split("/"), *(v for _k, v in parse_qsl(parts.query))]
    # Short pieces ("hooks", "services") are words, not credentials; masking them would garble messages.
    return [value, *(token for token in tokens if len(token) >= 12)]


def full_config(channel: Channel) -> dict:
    """Public and secret config together (for sending and for validating an edit); remembers the secrets."""
    return {**channel.config, **unseal(channel)}


def channel_secrets_rotate(rotate) -> int:
    """Re-encrypt every channel's credentials with `rotate` (secrets_rotate's; see register_secret_rotator)."""
    rotated = 0
    for channel in Channel.objects.select_for_update().order_by("pk").only("pk", "secret_config"):
        if bytes(channel.secret_config or b""):
            Channel.objects.filter(pk=channel.pk).update(secret_config=rotate(bytes(channel.secret_config)))
            rotated += 1
    return rotated
