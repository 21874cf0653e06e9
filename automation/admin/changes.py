from django.contrib import admin, messages

from ..entities.delivery import change_replay
from ..models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery, Transition
from .labels import LabelledChangeList, actor_cell, entity_cell


class ReadOnlyAdmin(admin.ModelAdmin):
    """The change log is append-only: it can be read, never edited from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LabelledAdmin(ReadOnlyAdmin):
    """Rows name their entity and their run actor instead of showing raw ids."""

    def get_changelist(self, request, **kwargs):
        return LabelledChangeList

    @admin.display(description="entity")
    def entity(self, row):
        return entity_cell(row)

    @admin.display(description="actor")
    def actor_display(self, row):
        return actor_cell(row)


@admin.register(Transition)
class TransitionAdmin(LabelledAdmin):
    list_display = ["at", "kind", "entity", "field", "from_value", "to_value", "actor_display"]
    list_filter = ["kind", "field"]
    search_fields = ["=entity_id", "=change_id", "actor"]
    date_hierarchy = "at"
    show_full_result_count = False


class DerivedTriggerEventInline(admin.TabularInline):
    model = DerivedTriggerEvent
    fields = ["event", "context_key", "payload"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class SubscriptionDeliveryInline(DerivedTriggerEventInline):
    model = SubscriptionDelivery
    fields = ["subscriber", "delivered_at", "attempts", "last_error"]
    readonly_fields = fields


class ParkedFilter(admin.SimpleListFilter):
    """Changes whose routing kept failing, waiting for an operator's replay."""

    title = "parked"
    parameter_name = "parked"

    def lookups(self, request, model_admin):
        return [("yes", "Parked"), ("no", "Not parked")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(parked_at__isnull=False, routed_at=None)
        if self.value() == "no":
            return queryset.filter(parked_at=None)
        return queryset


@admin.register(ChangeEvent)
class ChangeEventAdmin(LabelledAdmin):
    list_display = ["occurred_at", "kind", "entity", "changed_fields", "actor_display", "routed_at",
                    "routing_attempts", "parked_at"]
    list_filter = ["kind", ("routed_at", admin.EmptyFieldListFilter), ParkedFilter]
    readonly_fields = ["routing_attempts", "first_attempted_at", "last_routing_error", "parked_at"]
    actions = ["replay"]
    search_fields = ["=entity_id", "=change_id", "actor"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    inlines = [DerivedTriggerEventInline, SubscriptionDeliveryInline]

    def has_replay_permission(self, request):
        return request.user.has_perm("automation.replay_changeevent")

    @admin.action(description="Replay the selected parked changes", permissions=["replay"])
    def replay(self, request, queryset):
        """Route each parked change once more (changes_replay); one that fails again is parked again."""
        for event in queryset.filter(parked_at__isnull=False, routed_at=None).order_by("id"):
            result = change_replay(change_id=str(event.change_id), actor=f"user:{request.user.get_username()}")
            if result.routed:
                self.message_user(request, f"change {result.change_id} routed", messages.SUCCESS)
            else:
                self.message_user(request, f"change {result.change_id} parked again: {result.error}", messages.ERROR)
