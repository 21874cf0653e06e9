"""Text that PostgreSQL can store: its jsonb and text types refuse the NUL character."""

from django.core.exceptions import ValidationError


def nul_character_path(value, path: str = "") -> str | None:
    """The dotted path of the first string (value or key) holding U+0000, or None when there is none."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        child = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return child
        found = nul_character_path(item, child)
        if found is not None:
            return found
    return None


def validate_no_nul_characters(value) -> None:
    """A validator for JSON fields (model or DRF): plain text fields refuse NUL already, JSON ones do not."""
    path = nul_character_path(value)
    if path is not None:
        where = f" (at {path})" if path else ""
        raise ValidationError(f"NUL characters (\\u0000) are not allowed{where}.", code="null_characters_not_allowed")
