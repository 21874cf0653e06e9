"""The admin form field of the systems an incident or a maintenance window affects."""

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple

from .models import System


class AffectedSystemsForm(forms.ModelForm):
    """A model form with `affected_systems`, read from the row's `system_links` and saved by the app's service.

    A plain form field, not the model's `systems`: the admin cannot edit an M2M with its own through model,
    and the links are tracked state the service must write anyway.
    """

    affected_systems = forms.ModelMultipleChoiceField(
        queryset=System.objects.all(),
        required=False,
        label="Systems",
        widget=FilteredSelectMultiple("systems", is_stacked=False),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["affected_systems"].initial = list(
                self.instance.system_links.values_list("system_id", flat=True)
            )
