"""Installing a template: render it, validate it like any document, check the editor, create the automation.

One door for the API, the admin and `checkstack_demo`.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from ..automation_templates import TEMPLATES, AutomationTemplate, TemplateParameterError, template_render
from ..documents.validate import validate_document
from ..entities.actor import user_actor
from ..models import Automation
from ..secrets import secret_names
from .automations import automation_create
from .permissions import check_can_save


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
    result = validate_document(document, known_secrets=secret_names())
    if result.errors:
        raise ValidationError({"document": [f"{e['path']}: {e['message']}" for e in result.errors]})
    document = result.document
    check_can_save(editor=editor, document=document, run_as=editor, creating=True)
    with transaction.atomic():
        if Automation.objects.filter(name=document["name"]).exists():
            raise ValidationError({"name": [f"an automation named {document['name']!r} already exists"]})
        return automation_create(document=document, actor=user_actor(editor), run_as=editor)


__all__ = ["PermissionDenied", "TemplateNotFound", "TemplateParameterError", "automation_template_get",
           "automation_template_install", "automation_template_preview"]
