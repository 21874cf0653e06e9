"""The page's own name, logo and accent colour (settings), given to every public template."""

import re

from django.conf import settings

from .bars import PATTERNS

DEFAULT_ACCENT = "#1c7ed6"
# Only a plain colour reaches the inline style: the setting is an operator's, but a typo must not break CSS.
ACCENT_PATTERN = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")


def accent() -> str:
    value = settings.CHECKSTACK_STATUS_ACCENT.strip()
    return value if ACCENT_PATTERN.fullmatch(value) else DEFAULT_ACCENT


def page_context(**context) -> dict:
    return {"site": {"name": settings.CHECKSTACK_STATUS_NAME, "logo_url": settings.CHECKSTACK_STATUS_LOGO_URL,
                     "accent": accent()}, "bar_patterns": PATTERNS, **context}
