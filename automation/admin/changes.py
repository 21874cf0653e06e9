from django.contrib import admin

from ..models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery, Transition


class ReadOnlyAdmin(admin.ModelAdmin):
    """The change log is append-only: it can be read, never edited from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Transition)
class TransitionAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "entity_id", "field", "from_value", "to_value", "actor"]
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


@admin.register(ChangeEvent)
class ChangeEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "kind", "entity_id", "changed_fields", "actor", "routed_at"]
    list_filter = ["kind", ("routed_at", admin.EmptyFieldListFilter)]
    search_fields = ["=entity_id", "=change_id", "actor"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    inlines = [DerivedTriggerEventInline, SubscriptionDeliveryInline]
