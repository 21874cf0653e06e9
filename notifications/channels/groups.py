"""Catalog groups as channels see them, until catalog has groups (the public-face issue adds them)."""

from django.apps import apps


def existing_group_ids(group_ids) -> set[str]:
    """Those of `group_ids` that name a catalog group (none while catalog has no Group model)."""
    try:
        group = apps.get_model("catalog", "Group")
    except LookupError:
        return set()
    wanted = [str(g) for g in group_ids]
    try:
        return {str(pk) for pk in group.objects.filter(pk__in=wanted).values_list("pk", flat=True)}
    except (ValueError, TypeError):
        return set()
