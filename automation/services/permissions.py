"""Who may make an automation do what: an automation acts as its `run_as` user, and nobody can give it
more power than they hold themselves (docs/automations.md, "Who the automation acts as")."""

from django.core.exceptions import PermissionDenied

from ..definitions import definitions
from ..documents.steps import iter_steps


def required_permissions(document: dict) -> set[str]:
    """The Django permissions the document's actions need."""
    needed = set()
    for step in iter_steps(document.get("actions")):
        definition = definitions.actions.get(step.get("action")) if "action" in step else None
        if definition is not None:
            needed.update(definition.permissions)
    return needed


def _all_permissions(user) -> set[str]:
    if user.is_active and user.is_superuser:
        return {"*"}
    return user.get_all_permissions() if user.is_active else set()


def check_can_save(*, editor, document: dict, run_as, creating: bool) -> None:
    """Raise PermissionDenied naming the first missing permission; return if the editor may save this."""
    model_perm = "automation.add_automation" if creating else "automation.change_automation"
    for perm in [model_perm, *sorted(required_permissions(document))]:
        if not editor.has_perm(perm):
            raise PermissionDenied(f"permission denied: {perm}")
    if run_as is None or run_as.pk == editor.pk:
        return
    if not run_as.is_active:
        raise PermissionDenied(f"run_as user {run_as.get_username()} is inactive")
    editor_perms = _all_permissions(editor)
    if "*" in editor_perms:
        return
    extra = _all_permissions(run_as) - editor_perms
    if "*" in extra or extra:
        missing = "all permissions (superuser)" if "*" in extra else sorted(extra)[0]
        raise PermissionDenied(f"run_as {run_as.get_username()} holds a permission you do not: {missing}")
