"""Installing a template: render it, validate it like any document, check the editor, create the automation.

One door for the API, the admin and `checkstack_demo`.
"""

from django.core.exceptions import PermissionDenied, ValidationError

from ..automation_templates import TEMPLATES, AutomationTemplate, TemplateParameterError, template_render
from ..documents.validate import validate_document
from ..models import Automation
from .automation_save import NAME_TAKEN, DocumentInvalid, NameTaken, automation_save


class TemplateNotFound(LookupError):
    pass


def automation_template_get(template_id: str) -> AutomationTemplate:
    try:
        return TEMPLATES[template_id]
    except KeyError:
        raise TemplateNotFound(template_id) from None


def automation_template_preview(template: AutomationTemplate) -> dict:
    """The normalized document the template gives with its default (or example) parameters."""
    result = validate_document(template_render(template, template.example))
    if result.errors:  # a template is code: a broken one is a bug, not a user error
        raise AssertionError(f"template {template.id} renders an invalid document: {result.errors}")
    return result.document


def automation_template_install(
    *, template: AutomationTemplate, parameters: dict | None, editor, name: str | None = None, enabled: bool = True,
) -> Automation:
    """Create an automation from the template; `editor` is its editor (the actor) and its run_as.

    Raises TemplateParameterError for bad parameters, ValidationError `{field: [message]}` for a document the
    validator refuses or a name already taken, and PermissionDenied naming what the editor lacks; nothing is
    saved in any of those cases.
    """
    document = template_render(template, parameters)
    if name:
        document["name"] = name
    document["enabled"] = enabled
    try:
        return automation_save(document=document, editor=editor, run_as=editor)
    except NameTaken as exc:
        raise ValidationError({"name": [NAME_TAKEN]}) from exc
    except DocumentInvalid as exc:
        raise ValidationError({"document": [f"{e['path']}: {e['message']}" for e in exc.errors]}) from exc


__all__ = ["PermissionDenied", "TemplateNotFound", "TemplateParameterError", "automation_template_get",
           "automation_template_install", "automation_template_preview"]
