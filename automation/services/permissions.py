"""Who may make an automation do what: an automation acts as its `run_as` user, and nobody can give it
more power than they hold themselves (docs/automations.md, "Who the automation acts as").

Secrets: using any secret needs one model-level permission, `automation.use_secret`, held by the editor and
by `run_as`. Not per-secret grants, because a secret's scope is already narrowed where it matters: it can
only reach the fields an action declares (a webhook's url, headers, body), untransformed, and the webhook
and email actions need permissions of their own. Per-secret grants would need object permissions Django
does not have, a grant table kept in step with renames, and a second check at every save and run for
little gain: whoever may send a webhook with one secret can be trusted or not with sending any. Deployments
that need separation run separate `run_as` users, each with or without the permission.
"""

from django.core.exceptions import PermissionDenied

from ..definitions import USE_SECRET, definitions
from ..documents.steps import iter_steps
from ..expressions.secret_use import config_uses_secret


def document_uses_secrets(document: dict) -> bool:
    """Whether any action step of the document names `secret`."""
    return any(config_uses_secret(step.get("config") or {})
               for step in iter_steps(document.get("actions")) if "action" in step)


def required_permissions(document: dict) -> set[str]:
    """The Django permissions the document's actions need (and `use_secret` if it names a secret)."""
    needed = set()
    for step in iter_steps(document.get("actions")):
        definition = definitions.actions.get(step.get("action")) if "action" in step else None
        if definition is not None:
            needed.update(definition.permissions)
    if document_uses_secrets(document):
        needed.add(USE_SECRET)
    return needed


def _all_permissions(user) -> set[str]:
    if user.is_active and user.is_superuser:
        return {"*"}
    return user.get_all_permissions() if user.is_active else set()


def _require(user, perms) -> None:
    for perm in perms:
        if not user.has_perm(perm):
            raise PermissionDenied(f"permission denied: {perm}")


def check_can_save(*, editor, document: dict, run_as, creating: bool) -> None:
    """Raise PermissionDenied naming the first missing permission; return if the editor may save this."""
    model_perm = "automation.add_automation" if creating else "automation.change_automation"
    _require(editor, [model_perm, *sorted(required_permissions(document))])
    if run_as is None or run_as.pk == editor.pk:
        return
    if not run_as.is_active:
        raise PermissionDenied(f"run_as user {run_as.get_username()} is inactive")
    if document_uses_secrets(document) and not run_as.has_perm(USE_SECRET):
        # Checked now, not only when a step runs: the secret must be usable by whom the automation acts as.
        raise PermissionDenied(f"run_as {run_as.get_username()} lacks {USE_SECRET}")
    editor_perms = _all_permissions(editor)
    if "*" in editor_perms:
        return
    extra = _all_permissions(run_as) - editor_perms
    if "*" in extra or extra:
        missing = "all permissions (superuser)" if "*" in extra else sorted(extra)[0]
        raise PermissionDenied(f"run_as {run_as.get_username()} holds a permission you do not: {missing}")


def check_can_run(*, user, automation) -> None:
    """Raise PermissionDenied unless `user` may start `automation` now: as saving it, so a manual run is no
    way to borrow the power of its run_as (docs/api.md, Permissions)."""
    _require(user, ["automation.change_automation", *sorted(required_permissions(automation.document))])
