"""Installing an automation template from the admin: pick one, adjust its parameters (YAML), install."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ..automation_templates import TEMPLATES, TemplateParameterError
from ..documents.io import clean_yaml_mapping, dump_yaml
from ..services.automation_templates import automation_template_install


class TemplateInstallForm(forms.Form):
    template = forms.ChoiceField(choices=[(t.id, t.name) for t in TEMPLATES.values()])
    parameters = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "cols": 80, "class": "vLargeTextField"}),
                                 required=False, help_text="YAML; anything left out takes the template's default.")
    name = forms.CharField(max_length=200, required=False, help_text="Leave empty for the template's name.")
    enabled = forms.BooleanField(required=False, initial=True)

    def clean_parameters(self):
        return clean_yaml_mapping(self.cleaned_data["parameters"], what="the parameters")


def install_view(model_admin, request):
    """GET shows the form with each template's parameters; POST installs through the same service as the API."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = TemplateInstallForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            automation = automation_template_install(
                template=TEMPLATES[data["template"]], parameters=data["parameters"], editor=request.user,
                name=data["name"] or None, enabled=data["enabled"])
        except TemplateParameterError as exc:
            for field, problems in exc.errors.items():
                form.add_error("parameters", f"{field}: {'; '.join(problems)}")
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error("name" if field == "name" else None, problems)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            model_admin.message_user(request, f"Installed “{automation.name}”.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:automation_automation_change", args=[automation.pk]))
    templates = [{"id": t.id, "name": t.name, "description": t.description,
                  "parameters": dump_yaml(t.example or {name: f.default for name, f in t.parameters.model_fields.items()
                                                       if not f.is_required()})}
                 for t in TEMPLATES.values()]
    context = {**model_admin.admin_site.each_context(request), "title": "Install an automation template",
               "form": form, "templates": templates, "opts": model_admin.model._meta}
    return TemplateResponse(request, "admin/automation/automation/install_template.html", context)
