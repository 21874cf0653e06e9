"""Timers, read-only: what beat must fire and when (the dashboard links here for overdue ones)."""

from django.contrib import admin

from ..models import Timer
from .changes import ReadOnlyAdmin


@admin.register(Timer)
class TimerAdmin(ReadOnlyAdmin):
    list_display = ["due_at", "kind", "owner", "fired_at", "created_at"]
    list_filter = ["kind", ("fired_at", admin.EmptyFieldListFilter)]
    search_fields = ["=owner"]
    ordering = ["due_at", "id"]
