"""Locations in the admin: the token is shown once (on creation and rotation), writes go through the services."""

from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html, format_html_join

from automation.entities.actor import user_actor
from automation.service_admin import ServiceDeleteAdmin

from ..models import CheckLocation, Location
from . import services


@admin.register(Location)
class LocationAdmin(ServiceDeleteAdmin, admin.ModelAdmin):
    list_display = ["name", "status", "last_seen_at", "description"]
    list_filter = ["status"]
    search_fields = ["name"]
    fields = ["name", "description", "status", "last_seen_at", "checks_here"]
    readonly_fields = ["status", "last_seen_at", "checks_here"]
    actions = ["rotate_token"]

    def delete_through_service(self, obj, *, actor: str) -> None:
        services.location_delete(location=obj, actor=actor)

    def save_model(self, request, obj, form, change):
        actor = user_actor(request.user)
        with transaction.atomic():
            if change:
                saved = services.location_update(location=obj, actor=actor, name=obj.name,
                                                 description=obj.description)
            else:
                issued = services.location_create(name=obj.name, description=obj.description, actor=actor)
                saved = issued.location
                self._show_token(request, issued)
        obj.pk, obj.token_hash = saved.pk, saved.token_hash
        obj._state.adding = False

    def _show_token(self, request, issued) -> None:
        messages.warning(request, format_html(
            "The prober token of {} (shown only now; store it where the prober runs): <code>{}</code>",
            issued.location.name, issued.token))

    @admin.action(description="Rotate the prober token (the old one stops working)",
                  permissions=["change"])
    def rotate_token(self, request, queryset):
        actor = user_actor(request.user)
        for location in queryset.order_by("pk"):
            with transaction.atomic():
                self._show_token(request, services.location_token_rotate(location=location, actor=actor))

    @admin.display(description="Checks run here (latency and state per check)")
    def checks_here(self, obj):
        if obj.pk is None:
            return "-"
        rows = (CheckLocation.objects.filter(location=obj).select_related("check_ref__system")
                .order_by("check_ref__system__name", "check_ref__name")[:200])
        if not rows:
            return "No check runs from here."
        cells = ((str(p.check_ref), _state(p), "-" if p.last_latency_ms is None else f"{p.last_latency_ms} ms",
                  p.last_run_at or "never") for p in rows)
        row = "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"
        return format_html("<table>{}</table>", format_html_join("", row, cells))


def _state(placement: CheckLocation) -> str:
    if placement.last_ok is None:
        return "no data"
    return "ok" if placement.last_ok else f"failing ({placement.consecutive_failures}): {placement.last_error}"


def location_states_table(check) -> str:
    """A check's state and latency at each of its locations (the quorum's inputs), or a note when central."""
    rows = check.placements.select_related("location").order_by("location__name")
    if not rows:
        return "Runs on the central workers."
    cells = ((p.location.name, p.location.status, _state(p) if p.location.status == "online" else "no data",
              "-" if p.last_latency_ms is None else f"{p.last_latency_ms} ms") for p in rows)
    row = "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"
    return format_html("<table>{}</table>", format_html_join("", row, cells))
