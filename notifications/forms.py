from django import forms

from catalog.models import Group, System


class SubscribeForm(forms.Form):
    """The public form: an address and the groups and systems to hear about (at least one of either)."""

    email = forms.EmailField(max_length=254, label="Email address",
                             widget=forms.EmailInput(attrs={"id": "subscribe-email", "autocomplete": "email"}))
    # A group brings every system in it, including systems added to it later.
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("position", "name"),
        # By name: the public pages never show internal ids.
        to_field_name="name",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    systems = forms.ModelMultipleChoiceField(
        queryset=System.objects.order_by("name"),
        to_field_name="name",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("systems") and not cleaned.get("groups"):
            self.add_error("systems", "Choose at least one group or system.")
        return cleaned
