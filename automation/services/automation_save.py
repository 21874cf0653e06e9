"""The one door for saving an automation document: the API, the admin, GitOps and templates all come here.

In order: validate the document (the one validator) → the name is free → the editor may save it acting as
its `run_as` → the version the edit started from is still current (checked on the locked row) → write it
(a new automation, or a new version with its history and trigger index rows). Anything every save must
check or derive belongs here, once.
"""

from django.db import IntegrityError, transaction

from foundation.service_errors import ServiceInvalid

from ..documents.validate import validate_document
from ..entities.actor import user_actor
from ..models import Automation
from ..secrets import secret_names
from .automations import automation_create, automation_update
from .permissions import check_can_save

NAME_TAKEN = "an automation with this name already exists"


class DocumentInvalid(ServiceInvalid):
    """The document cannot be saved; `errors` is a list of `{path, message}` (docs/automations.md)."""


class NameTaken(DocumentInvalid):
    """Another automation already has the document's name."""

    def __init__(self):
        super().__init__([{"path": "name", "message": NAME_TAKEN}])


def automation_check(*, document, editor, run_as=None, automation: Automation | None = None) -> dict:
    """The normalized document, if `editor` may save it (over `automation`, if given) acting as run_as.

    Raises DocumentInvalid (NameTaken for a taken name) or PermissionDenied naming what the editor lacks.
    Reads only: interfaces that show errors before they save (the admin's form, GitOps' plan) call it alone.
    """
    result = validate_document(document, known_secrets=secret_names())
    if result.errors:
        raise DocumentInvalid(result.errors)
    normalized = result.document
    others = Automation.objects.filter(name=normalized["name"])
    if automation is not None:
        others = others.exclude(pk=automation.pk)
    if others.exists():
        raise NameTaken()
    if run_as is None:
        run_as = editor if automation is None else automation.run_as
    check_can_save(editor=editor, document=normalized, run_as=run_as, creating=automation is None)
    return normalized


@transaction.atomic
def automation_save(*, document, editor, automation: Automation | None = None, run_as=None,
                    expected_version: int | None = None, managed_by: str = "") -> Automation:
    """Create an automation from `document` or, given `automation`, store the document as its next version.

    `document` is raw (YAML/JSON text or a mapping). `run_as` defaults to the editor for a new automation
    and to the current one for an update. With `expected_version`, an update raises AutomationConflict unless
    the automation is still at that version. Raises what automation_check raises; nothing is saved then.
    """
    if automation is not None:
        # The stored run_as, not a caller's copy (a ModelForm has already put the new choice on its instance).
        automation = Automation.objects.select_related("run_as").get(pk=automation.pk)
    normalized = automation_check(document=document, editor=editor, run_as=run_as, automation=automation)
    actor = user_actor(editor)
    try:  # each write is atomic itself: an error rolls it back whole before it reaches us
        if automation is None:
            return automation_create(document=normalized, actor=actor, run_as=run_as or editor, managed_by=managed_by)
        return automation_update(automation=automation, document=normalized, actor=actor, run_as=run_as,
                                 expected_version=expected_version)
    except IntegrityError as exc:
        # The unique name is the only constraint a checked document can break: a concurrent save took it.
        raise NameTaken() from exc
