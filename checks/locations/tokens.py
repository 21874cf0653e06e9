"""Location tokens: 256 random bits shown once, stored as their SHA-256."""

import hashlib
import secrets

TOKEN_PREFIX = "csl_"


def new_location_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
