from django import forms

from catalog.models import System


class SubscribeForm(forms.Form):
    """The public form: an address and the systems to hear about."""

    email = forms.EmailField(max_length=254, label="Email address")
    systems = forms.ModelMultipleChoiceField(
        queryset=System.objects.order_by("name"),
        # By name: the public pages never show internal ids.
        to_field_name="name",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one system."},
    )
