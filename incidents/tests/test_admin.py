"""The incident admin: form saves, inline updates, bulk resolve and bulk delete all write transitions."""

import pytest

from incidents.models import Incident, IncidentUpdate
from incidents.selectors import incident_system_ids
from incidents.services import incident_resolve

from .factories import change_events, make_incident, make_system, transitions_of

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/incidents/incident/"
ADD = "/admin/incidents/incident/add/"


def change_url(incident):
    return f"/admin/incidents/incident/{incident.pk}/change/"


def change_form(incident, *, existing_updates=(), new_update=None, **overrides):
    """POST data of the change page: the incident's current values, its timeline rows and an optional new one."""
    data = {
        "title": incident.title,
        "description": incident.description,
        "status": incident.status,
        "severity": incident.severity,
        "affected_systems": incident_system_ids(incident),
        "updates-TOTAL_FORMS": len(existing_updates) + 1,
        "updates-INITIAL_FORMS": len(existing_updates),
        "updates-MIN_NUM_FORMS": 0,
        "updates-MAX_NUM_FORMS": 1000,
    }
    for index, update in enumerate(existing_updates):
        data.update({f"updates-{index}-id": str(update.pk), f"updates-{index}-incident": str(incident.pk)})
    new = len(existing_updates)
    data[f"updates-{new}-incident"] = str(incident.pk)
    if new_update:
        data.update({f"updates-{new}-{key}": value for key, value in new_update.items()})
    data.update(overrides)
    return data


def test_add_form_creates_through_the_service(admin_client):
    a, b = make_system("a"), make_system("b")

    response = admin_client.post(
        ADD,
        {
            "title": "DB failover",
            "description": "",
            "severity": "critical",
            "affected_systems": [str(a.pk), str(b.pk)],
            "initial_message": "Failing over",
        },
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    incident = Incident.objects.get()
    assert (incident.status, incident.severity) == ("investigating", "critical")
    [event] = change_events(incident)
    assert transitions_of(event) == {
        "status": (None, "investigating", "user:admin"),
        "severity": (None, "critical", "user:admin"),
        "system_ids": (None, sorted([str(a.pk), str(b.pk)]), "user:admin"),
    }
    assert list(incident.updates.values_list("message", "created_by")) == [("Failing over", "user:admin")]
    assert response["Location"].startswith(CHANGELIST)


def test_change_form_updates_through_the_service(admin_client):
    a, b = make_system("a"), make_system("b")
    incident = make_incident(systems=[a])

    response = admin_client.post(
        change_url(incident), change_form(incident, severity="minor", affected_systems=[str(b.pk)], title="Renamed")
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.severity, incident_system_ids(incident)) == ("Renamed", "minor", [str(b.pk)])
    assert transitions_of(change_events(incident)[-1]) == {
        "severity": ("major", "minor", "user:admin"),
        "system_ids": ([str(a.pk)], [str(b.pk)], "user:admin"),
    }


def test_change_form_resolving_sets_resolved_at(admin_client):
    incident = make_incident()

    admin_client.post(change_url(incident), change_form(incident, status="resolved"))

    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert transitions_of(change_events(incident)[-1]) == {"status": ("investigating", "resolved", "user:admin")}


def test_inline_update_goes_through_the_service_and_existing_ones_stay(admin_client):
    incident = make_incident(initial_message="first")
    first = incident.updates.get()
    data = change_form(
        incident, existing_updates=[first], new_update={"message": "Mitigated", "status_change": "monitoring"}
    )
    data["updates-0-message"] = "tampered"

    response = admin_client.post(change_url(incident), data)

    assert response.status_code == 302
    assert list(incident.updates.order_by("created_at").values_list("message", "status_change", "created_by")) == [
        ("first", "investigating", "user:tester"),
        ("Mitigated", "monitoring", "user:admin"),
    ]
    assert transitions_of(change_events(incident)[-1]) == {"status": ("investigating", "monitoring", "user:admin")}


def test_inline_comment_only_writes_no_change_event(admin_client):
    incident = make_incident()

    admin_client.post(change_url(incident), change_form(incident, new_update={"message": "Still on it"}))

    assert list(incident.updates.values_list("message", "status_change")) == [("Still on it", None)]
    assert len(change_events(incident)) == 1


def test_bulk_resolve_action(admin_client):
    first, second = make_incident(title="one"), make_incident(title="two")
    done = incident_resolve(incident=make_incident(title="done"), actor="system")
    done_events = len(change_events(done))

    response = admin_client.post(
        CHANGELIST,
        {"action": "resolve_selected", "_selected_action": [str(first.pk), str(second.pk), str(done.pk)]},
    )

    assert response.status_code == 302
    for incident in (first, second):
        incident.refresh_from_db()
        assert incident.status == "resolved" and incident.resolved_at is not None
        assert transitions_of(change_events(incident)[-1]) == {"status": ("investigating", "resolved", "user:admin")}
        assert list(incident.updates.values_list("message", flat=True)) == ["Incident resolved"]
    assert len(change_events(done)) == done_events
    assert done.updates.count() == 1


def test_bulk_delete_action_writes_tombstones(admin_client):
    first, second = make_incident(title="one"), make_incident(title="two")
    kept = make_incident(title="kept")
    selected = {"action": "delete_selected", "_selected_action": [str(first.pk), str(second.pk)]}

    confirmation = admin_client.post(CHANGELIST, selected)
    assert confirmation.status_code == 200 and Incident.objects.count() == 3
    response = admin_client.post(
        CHANGELIST,
        {**selected, "post": "yes"},
    )

    assert response.status_code == 302
    assert list(Incident.objects.values_list("title", flat=True)) == ["kept"]
    for incident in (first, second):
        tombstone = change_events(incident)[-1]
        assert (tombstone.next, tombstone.actor) == (None, "user:admin")
        assert transitions_of(tombstone)["status"] == ("investigating", None, "user:admin")
    assert len(change_events(kept)) == 1


def test_delete_view_writes_a_tombstone(admin_client):
    incident = make_incident(initial_message="hello")

    response = admin_client.post(f"/admin/incidents/incident/{incident.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Incident.objects.exists() and not IncidentUpdate.objects.exists()
    assert change_events(incident)[-1].next is None


def test_pages_render_with_history(admin_client):
    system = make_system("payments")
    incident = make_incident(systems=[system], initial_message="first")

    listing = admin_client.get(CHANGELIST, {"status__exact": "investigating", "q": "API"})
    page = admin_client.get(change_url(incident))
    add = admin_client.get(ADD)

    assert listing.status_code == 200 and "payments" in listing.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="transition-history"' in html and "investigating" in html
    # The existing update is shown read-only; one empty row posts a new one.
    assert 'name="updates-0-message"' not in html and "first" in html
    assert 'name="updates-1-message"' in html
    assert add.status_code == 200 and "initial_message" in add.content.decode()
