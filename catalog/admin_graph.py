"""Groups and dependencies in the admin, and the system page's panels about them; every write through the
catalog services (group_*, dependency_*), so the change log and each system's impact stay right."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from automation.admin_history import EntityHistoryMixin
from automation.entities.actor import user_actor

from . import dependencies, groups
from .models import Dependency, Group, System
from .selectors import group_status, system_impact

GROUP_FIELDS = ("name", "description", "position")


def system_link(system: System) -> str:
    return format_html('<a href="{}">{}</a>', reverse("admin:catalog_system_change", args=[system.pk]), system.name)


class GroupAdminForm(forms.ModelForm):
    """The group's fields and its systems (moving a system here takes it out of its previous group)."""

    systems = forms.ModelMultipleChoiceField(
        queryset=System.objects.order_by("name"), required=False,
        widget=FilteredSelectMultiple("systems", is_stacked=False),
        help_text="A system is in at most one group: choosing it here moves it from its current group.",
    )

    class Meta:
        model = Group
        fields = list(GROUP_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.initial["systems"] = list(self.instance.systems.values_list("pk", flat=True))


@admin.register(Group)
class GroupAdmin(EntityHistoryMixin, admin.ModelAdmin):
    form = GroupAdminForm
    list_display = ["name", "position", "system_count", "status"]
    list_editable = ["position"]
    ordering = ["position", "name"]
    search_fields = ["name"]
    readonly_fields = ["transition_history"]
    fieldsets = [
        (None, {"fields": [*GROUP_FIELDS, "systems"]}),
        ("History", {"fields": ["transition_history"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("systems__health", "systems__impact")

    @admin.display(description="Systems")
    def system_count(self, obj: Group) -> int:
        return len(obj.systems.all())

    @admin.display(description="Status (worst of its systems)")
    def status(self, obj: Group) -> str:
        return group_status(systems=obj.systems.all()) or "—"

    def save_model(self, request, obj, form, change):
        actor = user_actor(request.user)
        fields = {name: form.cleaned_data[name] for name in GROUP_FIELDS if name in form.cleaned_data}
        with transaction.atomic():
            if not change:
                created = groups.group_create(**fields, actor=actor)
                obj.pk, obj._state.adding = created.pk, False  # the admin redirects to the row the service made
            else:
                changed = {name: value for name, value in fields.items() if name in form.changed_data}
                if changed:
                    groups.group_update(group=obj, **changed, actor=actor)
            if "systems" in form.cleaned_data and (not change or "systems" in form.changed_data):
                groups.group_set_systems(group=obj, system_ids=[s.pk for s in form.cleaned_data["systems"]],
                                         actor=actor)

    def save_related(self, request, form, formsets, change):
        # `systems` is not a model field of the group: save_model wrote it through the service.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        groups.group_delete(group=obj, actor=user_actor(request.user))

    def delete_queryset(self, request, queryset):
        actor = user_actor(request.user)
        with transaction.atomic():
            for group in queryset:
                groups.group_delete(group=group, actor=actor)


class DependencyAdminForm(forms.ModelForm):
    class Meta:
        model = Dependency
        fields = ["system", "depends_on", "impact"]

    def clean(self):
        cleaned = super().clean()
        system, depends_on = cleaned.get("system"), cleaned.get("depends_on")
        if system is not None and depends_on is not None and "impact" in cleaned:
            try:  # the service checks again under the graph lock; this is the form's early answer
                dependencies.dependency_check(system, depends_on, impact=cleaned["impact"],
                                              replacing=self.instance.pk if not self.instance._state.adding else None)
            except ValidationError as exc:
                for messages in exc.message_dict.values():
                    self.add_error("depends_on", messages)
        return cleaned

    def validate_constraints(self, exclude=None):
        pass  # clean() said it in words; the constraints stay the database's last word


@admin.register(Dependency)
class DependencyAdmin(admin.ModelAdmin):
    form = DependencyAdminForm
    list_display = ["system", "depends_on", "impact"]
    list_select_related = ["system", "depends_on"]
    list_filter = ["impact"]
    search_fields = ["system__name", "depends_on__name"]
    autocomplete_fields = ["system", "depends_on"]

    def get_changeform_initial_data(self, request):
        # "Add a dependency" / "Add a dependent" on a system's page fill in that side.
        return {key: request.GET[key] for key in ("system", "depends_on") if key in request.GET}

    def save_model(self, request, obj, form, change):
        actor = user_actor(request.user)
        data = form.cleaned_data
        if change:
            dependencies.dependency_update(dependency=obj, system_id=data["system"].pk,
                                           depends_on_id=data["depends_on"].pk, impact=data["impact"], actor=actor)
        else:
            created = dependencies.dependency_create(system_id=data["system"].pk, depends_on_id=data["depends_on"].pk,
                                                     impact=data["impact"], actor=actor)
            obj.pk, obj._state.adding = created.pk, False

    def delete_model(self, request, obj):
        dependencies.dependency_delete(dependency=obj, actor=user_actor(request.user))

    def delete_queryset(self, request, queryset):
        actor = user_actor(request.user)
        with transaction.atomic():
            for dependency in queryset:
                dependencies.dependency_delete(dependency=dependency, actor=actor)


def impact_panel(system: System) -> str:
    """The system's impact status and, when its dependencies make it worse, which systems do."""
    impact = system_impact(system=system)
    if impact.status is None:
        return "Not known yet (no health reported)."
    if not impact.impacted_by:
        return format_html("{} (its own health decides)", impact.status)
    culprits = System.objects.filter(pk__in=impact.impacted_by).order_by("name")
    return format_html("{}, affected by {}", impact.status,
                       format_html_join(", ", "{}", ((system_link(s),) for s in culprits)))


def dependencies_panel(system: System) -> str:
    """What the system depends on and what depends on it, each with a link, and links to add more."""
    add = reverse("admin:catalog_dependency_add")

    def rows(edges, other: str) -> str:
        return format_html_join("", '<tr><td>{}</td><td>{}</td><td><a href="{}">edit</a></td></tr>', (
            (system_link(getattr(edge, other)), edge.impact,
             reverse("admin:catalog_dependency_change", args=[edge.pk])) for edge in edges))

    uses = system.dependencies.select_related("depends_on").order_by("depends_on__name")
    used_by = system.dependents.select_related("system").order_by("system__name")
    return format_html(
        '<table class="dependencies"><thead><tr><th>Depends on</th><th>Impact</th><th></th></tr></thead>'
        '<tbody>{}</tbody></table><p><a href="{}?system={}">Add a dependency</a></p>'
        '<table class="dependents"><thead><tr><th>Depended on by</th><th>Impact</th><th></th></tr></thead>'
        '<tbody>{}</tbody></table><p><a href="{}?depends_on={}">Add a dependent</a></p>',
        rows(uses, "depends_on"), add, system.pk, rows(used_by, "system"), add, system.pk,
    )
