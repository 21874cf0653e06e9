"""How entity state values are written: JSON only, so states diff and store the same everywhere."""

from datetime import UTC, datetime


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z` suffix, e.g. `2026-11-22T09:30:00Z` (None stays None)."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def id_list(ids) -> list[str]:
    """Sorted string ids: the form of every `*_ids` field in entity state."""
    return sorted(str(i) for i in ids)
