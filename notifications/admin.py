"""Subscribers in the admin: every add, edit and delete through the subscriber services; the token stays hidden."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction

from automation.entities.actor import user_actor
from automation.service_admin import ServiceDeleteAdmin
from catalog.models import Group, System

from . import subscribers as services
from .models import Subscriber

EDITABLE = ("email", "systems", "groups", "confirmed")


class SubscriberAdminForm(forms.ModelForm):
    class Meta:
        model = Subscriber
        fields = list(EDITABLE)

    def clean_email(self):
        # Normalised before the model's unique check, so "Ann@X.org" collides with "ann@x.org".
        return services.normalize_email(self.cleaned_data["email"])


@admin.register(Subscriber)
class SubscriberAdmin(ServiceDeleteAdmin, admin.ModelAdmin):
    form = SubscriberAdminForm
    list_display = ["email", "confirmed", "followed", "created_at"]
    list_filter = ["confirmed", "systems", "groups"]
    search_fields = ["email"]
    filter_horizontal = ["systems", "groups"]
    readonly_fields = [
        "requested_systems",
        "requested_groups",
        "confirmed_at",
        "confirmation_requested_at",
        "confirmation_sent_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": list(EDITABLE)}),
        ("Confirmation", {"fields": readonly_fields}),
    ]
    actions = ["send_confirmation"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("systems", "groups")

    @admin.display(description="Follows")
    def followed(self, obj: Subscriber) -> str:
        groups = [f"{group.name} (group)" for group in obj.groups.all()]
        return ", ".join([*groups, *(system.name for system in obj.systems.all())]) or "—"

    @admin.display(description="Asked to follow groups (unconfirmed)")
    def requested_groups(self, obj: Subscriber) -> str:
        if obj is None or not obj.requested_group_ids:
            return "—"
        names = Group.objects.filter(pk__in=obj.requested_group_ids).values_list("name", flat=True)
        return ", ".join(names) or "—"

    @admin.display(description="Asked to follow (unconfirmed)")
    def requested_systems(self, obj: Subscriber) -> str:
        if obj is None or not obj.requested_system_ids:
            return "—"
        names = System.objects.filter(pk__in=obj.requested_system_ids).values_list("name", flat=True)
        return ", ".join(names) or "—"

    def save_model(self, request, obj, form, change):
        actor = user_actor(request.user)
        data = {name: form.cleaned_data[name] for name in EDITABLE}
        system_ids = [system.pk for system in data.pop("systems")]
        group_ids = [group.pk for group in data.pop("groups")]
        if not change:
            created = services.subscriber_create(**data, system_ids=system_ids, group_ids=group_ids, actor=actor)
            obj.pk, obj._state.adding = created.pk, False  # the admin redirects to the row the service made
            return
        changed = {name: data[name] for name in ("email", "confirmed") if name in form.changed_data}
        if "systems" in form.changed_data:
            changed["system_ids"] = system_ids
        if "groups" in form.changed_data:
            changed["group_ids"] = group_ids
        if changed:
            services.subscriber_update(subscriber=obj, **changed, actor=actor)

    def save_related(self, request, form, formsets, change):
        # The service already set the systems and groups; the form's save_m2m would write them a second time.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_through_service(self, obj, *, actor):
        services.subscriber_delete(subscriber=obj, actor=actor)

    @admin.action(description="Send a confirmation email", permissions=["change"])
    def send_confirmation(self, request, queryset):
        actor = user_actor(request.user)
        with transaction.atomic():
            for subscriber in queryset:
                services.subscriber_request_confirmation(subscriber=subscriber, actor=actor)
        self.message_user(request, f"Confirmation emails queued: {len(queryset)}.", messages.SUCCESS)

from . import channel_admin  # noqa: E402,F401 - registers the channel admins
