"""Admin pieces for models written through services: delete through the app's delete service, and the "post an
update" inline whose new rows the app's add-update service posts (the admin never saves them itself)."""

from django.db import transaction
from django.forms.models import BaseInlineFormSet

from .entities.actor import user_actor


class ServiceDeleteAdmin:
    """`delete_model` and `delete_queryset` through `delete_through_service`, one tracked delete per row."""

    def delete_through_service(self, obj, *, actor: str) -> None:
        raise NotImplementedError

    def delete_model(self, request, obj):
        self.delete_through_service(obj, actor=user_actor(request.user))

    def delete_queryset(self, request, queryset):
        actor = user_actor(request.user)
        with transaction.atomic():
            # One tracked delete each (a queryset delete is refused); pk order is a stable lock order.
            for obj in queryset.order_by("pk"):
                self.delete_through_service(obj, actor=actor)


class PostUpdateFormSet(BaseInlineFormSet):
    """The inline of new updates; `PostUpdateAdmin.save_formset` posts its filled-in new rows."""


class PostUpdateAdmin:
    """Saves the new rows of the inlines using `PostUpdateFormSet` through `post_update`; existing updates are
    records, read-only, so nothing else of those inlines is saved."""

    def post_update(self, parent, *, message: str, status_change: str | None, actor: str):
        """Post one update on `parent` through the app's service; return the update."""
        raise NotImplementedError

    def save_formset(self, request, form, formset, change):
        # Read by the admin's change message: only additions can exist.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not isinstance(formset, PostUpdateFormSet):
            return
        for update_form in formset.extra_forms:
            if not update_form.has_changed():
                continue
            formset.new_objects.append(self.post_update(
                form.instance,
                message=update_form.cleaned_data["message"],
                status_change=update_form.cleaned_data.get("status_change") or None,
                actor=user_actor(request.user),
            ))
