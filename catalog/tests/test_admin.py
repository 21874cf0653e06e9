"""The system admin: every save, health report and delete goes through the services and is logged."""

import pytest

from catalog.models import System, SystemHealth
from catalog.services import health_report

from .factories import ACTOR, change_events, log_size, make_system, make_user, transition_rows

pytestmark = pytest.mark.django_db

ADD = "/admin/catalog/system/add/"
CHANGELIST = "/admin/catalog/system/"


def change_url(system):
    return f"/admin/catalog/system/{system.pk}/change/"


def form(**overrides):
    data = {
        "name": "api",
        "description": "",
        "metadata": "{}",
        "health_status": "",
        "health_message": "",
        "health_latency_ms": "",
        "health_source": "reported",
        "health_failure_threshold": "3",
        "health_degraded_latency_ms": "",
    }
    return {**data, **overrides}


def test_add_with_health_writes_system_and_health_as_the_user(admin_client):
    response = admin_client.post(
        ADD, form(description="front", health_status="degraded", health_message="slow", health_latency_ms="700")
    )

    assert response.status_code == 302
    system = System.objects.get()
    assert response.url == f"{CHANGELIST}"
    assert transition_rows(system.pk) == [
        ("system", "description", None, "front", "user:admin"),
        ("system", "group_id", None, None, "user:admin"),
        ("system", "metadata", None, {}, "user:admin"),
        ("system", "name", None, "api", "user:admin"),
        ("health", "latency_ms", None, 700, "user:admin"),
        ("health", "message", None, "slow", "user:admin"),
        ("health", "status", None, "degraded", "user:admin"),
    ]


def test_add_without_health_leaves_it_unreported(admin_client):
    admin_client.post(ADD, form())

    system = System.objects.get()
    assert [e.kind for e in change_events(system.pk)] == ["system"]
    assert not SystemHealth.objects.exists()


def test_change_only_health_writes_only_health(admin_client):
    system = make_system("api", description="d")
    health_report(system=system, status="degraded", message="slow", actor=ACTOR)

    response = admin_client.post(
        change_url(system), form(description="d", health_status="healthy", health_message="slow")
    )

    assert response.status_code == 302
    [event] = change_events(system.pk)[2:]
    assert (event.kind, event.delta, event.actor) == ("health", {"status": "healthy"}, "user:admin")


def test_change_system_fields_without_touching_health(admin_client):
    system = make_system("api")
    health = health_report(system=system, status="healthy", latency_ms=5, actor=ACTOR)

    response = admin_client.post(
        change_url(system),
        form(name="api-v2", metadata='{"team": "web"}', health_status="healthy", health_latency_ms="5"),
    )

    assert response.status_code == 302
    [event] = change_events(system.pk)[2:]
    assert (event.kind, event.delta) == ("system", {"metadata": {"team": "web"}, "name": "api-v2"})
    # An unchanged health is not re-reported, so its "updated" time stays the last real report's.
    assert SystemHealth.objects.get().updated_at == health.updated_at


def test_unchanged_save_writes_nothing(admin_client):
    system = make_system("api")
    health_report(system=system, status="healthy", actor=ACTOR)
    before = log_size()

    response = admin_client.post(change_url(system), form(health_status="healthy"))

    assert response.status_code == 302
    assert log_size() == before


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"name": "taken"}, "name"),
        ({"name": ""}, "name"),
        ({"metadata": "[1, 2]"}, "metadata"),
        ({"metadata": "{not json"}, "metadata"),
        ({"health_message": "no status given"}, "health_status"),
        ({"health_status": "sick"}, "health_status"),
        ({"health_status": "healthy", "health_latency_ms": "-1"}, "health_latency_ms"),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(admin_client, overrides, field):
    make_system("taken")
    system = make_system("api")
    before = log_size()

    for url in (ADD, change_url(system)):
        response = admin_client.post(url, form(**overrides))
        assert response.status_code == 200
        assert field in response.context["adminform"].form.errors

    assert log_size() == before


def test_health_cannot_be_withdrawn(admin_client):
    system = make_system("api")
    health_report(system=system, status="degraded", actor=ACTOR)
    before = log_size()

    response = admin_client.post(change_url(system), form(health_status=""))

    assert response.context["adminform"].form.errors == {"health_status": ["Choose a status to report health."]}
    assert log_size() == before


def test_without_change_systemhealth_the_health_fields_are_read_only(client):
    system = make_system("api")
    health_report(system=system, status="degraded", actor=ACTOR)
    client.force_login(make_user("editor", "catalog.view_system", "catalog.change_system"))

    response = client.post(change_url(system), form(description="edited", health_status="healthy"))

    assert response.status_code == 302
    assert [(e.kind, e.delta, e.actor) for e in change_events(system.pk)[2:]] == [
        ("system", {"description": "edited"}, "user:editor")
    ]
    assert SystemHealth.objects.get().status == "degraded"


def test_delete_view_writes_tombstones(admin_client):
    system = make_system("api")
    health_report(system=system, status="healthy", actor=ACTOR)

    response = admin_client.post(f"/admin/catalog/system/{system.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not System.objects.exists()
    assert [(e.kind, e.next, e.actor) for e in change_events(system.pk)[-2:]] == [
        ("health", None, "user:admin"),
        ("system", None, "user:admin"),
    ]


def test_bulk_delete_goes_through_the_service_per_system(admin_client):
    kept = make_system("kept")
    doomed = [make_system("a"), make_system("b")]
    health_report(system=doomed[0], status="degraded", actor=ACTOR)

    response = admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [str(s.pk) for s in doomed], "post": "yes"},
    )

    assert response.status_code == 302
    assert list(System.objects.values_list("name", flat=True)) == ["kept"]
    tombstones = [(e.kind, e.next, e.actor) for s in doomed for e in change_events(s.pk) if e.next is None]
    assert tombstones == [
        ("health", None, "user:admin"),
        ("system", None, "user:admin"),
        ("system", None, "user:admin"),
    ]
    assert len(change_events(kept.pk)) == 1


def test_changelist_columns_filter_and_search(admin_client):
    api = make_system("api")
    make_system("db")
    health_report(system=api, status="degraded", actor=ACTOR)

    def names(query):
        response = admin_client.get(CHANGELIST + query)
        assert response.status_code == 200
        return [s.name for s in response.context["cl"].result_list]

    assert names("") == ["api", "db"]
    assert names("?health=degraded") == ["api"]
    assert names("?health=none") == ["db"]
    assert names("?health=healthy") == []
    assert names("?q=db") == ["db"]
    page = admin_client.get(CHANGELIST).content.decode()
    assert "degraded" in page and "Health updated" in page


def test_change_page_shows_system_and_health_history(admin_client):
    system = make_system("api")
    health_report(system=system, status="unhealthy", message="timeout", actor="user:monitor")

    response = admin_client.get(change_url(system))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="transition-history"') == 2
    assert "user:monitor" in page and "timeout" in page
    form_ = response.context["adminform"].form
    assert (form_["health_status"].value(), form_["health_message"].value()) == ("unhealthy", "timeout")
