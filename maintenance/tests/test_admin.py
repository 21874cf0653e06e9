"""The maintenance admin: forms, the update inline and bulk actions all write through the services."""

from datetime import timedelta

import pytest

from automation.service_admin import PostUpdateFormSet
from maintenance.models import MaintenanceUpdate, MaintenanceWindow
from maintenance.services import maintenance_add_update

from .factories import T0, T0_ISO, T2H_ISO, events, log_counts, make_system, make_window, transitions

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/maintenance/maintenancewindow/"
ADD = CHANGELIST + "add/"


def change_url(window):
    return f"{CHANGELIST}{window.pk}/change/"


def form_data(response, new_update=None, **fields):
    """The data the page would post back as rendered, with `fields` and a new update filled in."""
    data = {}
    form = response.context["adminform"].form
    for bound in form:
        value = bound.value()
        if bound.name in ("start_at", "end_at"):  # split date and time inputs
            if value is not None:
                data[f"{bound.name}_0"], data[f"{bound.name}_1"] = f"{value:%Y-%m-%d}", f"{value:%H:%M:%S}"
        elif isinstance(value, list):
            data[bound.name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[bound.name] = "on"
        elif value is not None:
            data[bound.name] = str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for bound in formset.management_form:
            data[bound.html_name] = bound.value()
        for inline_form in formset.forms:
            for bound in inline_form:
                if bound.value() is not None:
                    data[bound.html_name] = str(bound.value())
        if new_update and isinstance(formset, PostUpdateFormSet):
            prefix = formset.forms[0].prefix
            data[f"{prefix}-message"] = new_update[0]
            data[f"{prefix}-status_change"] = new_update[1] or ""
    data.update(fields)
    return data


def test_add_creates_the_window_through_the_service(admin_client):
    api = make_system("api")
    page = admin_client.get(ADD)
    data = form_data(
        page,
        title="Kernel patching",
        start_at_0="2026-12-01",
        start_at_1="09:00:00",
        end_at_0="2026-12-01",
        end_at_1="11:00:00",
        affected_systems=[str(api.pk)],
    )

    response = admin_client.post(ADD, data)

    assert response.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert (window.title, window.status) == ("Kernel patching", "scheduled")
    assert transitions(window.pk) == [
        ("end_at", None, T2H_ISO, "user:admin"),
        ("start_at", None, T0_ISO, "user:admin"),
        ("status", None, "scheduled", "user:admin"),
        ("system_ids", None, [str(api.pk)], "user:admin"),
    ]


def test_add_with_an_initial_update(admin_client):
    page = admin_client.get(ADD)
    data = form_data(
        page,
        new_update=("Announced", None),
        title="x",
        start_at_0="2026-12-01",
        start_at_1="09:00:00",
        end_at_0="2026-12-01",
        end_at_1="10:00:00",
    )

    assert admin_client.post(ADD, data).status_code == 302

    window = MaintenanceWindow.objects.get()
    assert list(window.updates.values_list("message", "created_by")) == [("Announced", "user:admin")]


def test_end_before_start_is_a_form_error_and_writes_nothing(admin_client):
    page = admin_client.get(ADD)
    data = form_data(
        page, title="x", start_at_0="2026-12-01", start_at_1="09:00:00", end_at_0="2026-12-01", end_at_1="08:00:00"
    )
    before = log_counts()

    response = admin_client.post(ADD, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"end_at": ["End must be after start."]}
    assert MaintenanceWindow.objects.count() == 0
    assert log_counts() == before


def test_change_form_edits_through_the_service_and_shows_history(admin_client):
    api, db = make_system("api"), make_system("db")
    window = make_window(systems=[api])
    page = admin_client.get(change_url(window))
    assert b"transition-history" in page.content

    data = form_data(page, end_at_1="12:00:00", affected_systems=[str(db.pk)])
    response = admin_client.post(change_url(window), data)

    assert response.status_code == 302
    assert transitions(window.pk)[-2:] == [
        ("end_at", T2H_ISO, "2026-12-01T12:00:00Z", "user:admin"),
        ("system_ids", [str(api.pk)], [str(db.pk)], "user:admin"),
    ]
    assert len(events(window.pk)) == 2


def test_inline_update_goes_through_the_service_and_old_updates_stay_read_only(admin_client):
    window = make_window()
    old = maintenance_add_update(window=window, message="Planned", actor="user:ann")
    page = admin_client.get(change_url(window))
    data = form_data(page, new_update=("Starting now", "in_progress"))
    # A tampered post of the existing update's message is ignored: the inline is view-only.
    data["updates-0-message"] = "Rewritten"

    response = admin_client.post(change_url(window), data)

    assert response.status_code == 302
    assert list(window.updates.values_list("message", "status_change", "created_by")) == [
        ("Planned", None, "user:ann"),
        ("Starting now", "in_progress", "user:admin"),
    ]
    assert MaintenanceUpdate.objects.get(pk=old.pk).message == "Planned"
    assert transitions(window.pk)[-1] == ("status", "scheduled", "in_progress", "user:admin")


def test_bulk_close_closes_open_windows_only(admin_client):
    open_a, open_b = make_window(), make_window(status="in_progress")
    cancelled = make_window(status="cancelled")

    response = admin_client.post(
        CHANGELIST,
        {"action": "close_windows", "_selected_action": [str(w.pk) for w in (open_a, open_b, cancelled)]},
        follow=True,
    )

    assert "Closed 2 window(s). 1 already completed or cancelled." in response.content.decode()
    assert transitions(open_a.pk)[-1] == ("status", "scheduled", "completed", "user:admin")
    assert transitions(open_b.pk)[-1] == ("status", "in_progress", "completed", "user:admin")
    assert MaintenanceWindow.objects.get(pk=cancelled.pk).status == "cancelled"
    assert len(events(cancelled.pk)) == 1
    assert MaintenanceUpdate.objects.filter(status_change="completed").count() == 2


def test_bulk_delete_writes_a_tombstone_per_window(admin_client):
    first, second = make_window(), make_window(start_at=T0 + timedelta(days=1))
    keep = make_window()

    response = admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [str(first.pk), str(second.pk)], "post": "yes"},
    )

    assert response.status_code == 302
    assert list(MaintenanceWindow.objects.values_list("pk", flat=True)) == [keep.pk]
    for window in (first, second):
        tombstone = events(window.pk)[-1]
        assert (tombstone.next, tombstone.actor) == (None, "user:admin")
        assert transitions(window.pk)[-1] == ("system_ids", [], None, "user:admin")


def test_delete_view_goes_through_the_service(admin_client):
    window = make_window()

    response = admin_client.post(f"{CHANGELIST}{window.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert events(window.pk)[-1].next is None


def test_changelist_filters_and_search(admin_client):
    api = make_system("api")
    make_window(systems=[api], title="Kernel patching")
    make_window(title="Network swap", status="completed")

    def titles(query):
        response = admin_client.get(CHANGELIST + query)
        assert response.status_code == 200
        return sorted(w.title for w in response.context["cl"].result_list)

    assert titles("") == ["Kernel patching", "Network swap"]
    assert titles("?status__exact=completed") == ["Network swap"]
    assert titles(f"?systems__id__exact={api.pk}") == ["Kernel patching"]
    assert titles("?q=kernel") == ["Kernel patching"]
    assert titles("?start_at__year=2026&start_at__month=12") == ["Kernel patching", "Network swap"]
