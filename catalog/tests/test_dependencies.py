"""dependencies/ CRUD and the `impact` entity: exact rows written, refused edges that change nothing."""

import uuid

import pytest
from django.db import transaction

from automation.entities.delivery import as_change
from automation.entities.registry import derive_events
from automation.models import ChangeEvent
from catalog.dependencies import dependency_create, dependency_delete
from catalog.models import Dependency, SystemImpact
from catalog.services import health_report, system_delete

from .factories import ACTOR, api_as, log_size, make_system

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/dependencies/"


@pytest.fixture
def chain():
    """web → api → cache → db (each depends on the next, fully), all healthy."""
    systems = {name: make_system(name) for name in ("web", "api", "cache", "db")}
    for name in systems:
        health_report(system=systems[name], status="healthy", actor=ACTOR)
    for upper, lower in (("web", "api"), ("api", "cache"), ("cache", "db")):
        dependency_create(system_id=systems[upper].pk, depends_on_id=systems[lower].pk, actor=ACTOR)
    return systems


def impact_changes(since: int) -> list[tuple]:
    """(system id, delta, actor) of the impact changes written after change event `since`, oldest first."""
    return list(ChangeEvent.objects.filter(kind="impact", id__gt=since).order_by("id")
                .values_list("entity_id", "delta", "actor"))


def last_event_id() -> int:
    return ChangeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_a_failure_three_levels_down_reaches_every_dependent_once_in_the_same_transaction(chain):
    marker = last_event_id()
    db = str(chain["db"].pk)

    health_report(system=chain["db"], status="unhealthy", actor="user:mon")

    expected = sorted([(db, {"status": "unhealthy"}, "user:mon")] + [
        (str(chain[name].pk), {"status": "unhealthy", "impacted_by": [db]}, "user:mon")
        for name in ("web", "api", "cache")])
    assert sorted(impact_changes(marker)) == expected
    # Every write came from the one health report: nothing is left to route before the dependents know.
    assert ChangeEvent.objects.filter(id__gt=marker).count() == 1 + 4

    marker = last_event_id()
    health_report(system=chain["db"], status="unhealthy", message="still down", actor="user:mon")
    assert impact_changes(marker) == []  # same status: no impact change

    health_report(system=chain["db"], status="healthy", actor="user:mon")
    assert sorted(impact_changes(marker)) == sorted([(db, {"status": "healthy"}, "user:mon")] + [
        (str(chain[name].pk), {"status": "healthy", "impacted_by": []}, "user:mon")
        for name in ("web", "api", "cache")])


def test_impact_changed_is_derived_with_its_payload(chain):
    marker = last_event_id()
    health_report(system=chain["db"], status="degraded", actor=ACTOR)

    event = ChangeEvent.objects.get(id__gt=marker, kind="impact", entity_id=str(chain["web"].pk))
    [derived] = derive_events(as_change(event))
    assert (derived.event, derived.context_key) == ("catalog.impact_changed", str(chain["web"].pk))
    assert derived.payload == {"system_id": str(chain["web"].pk), "previous_status": "healthy",
                               "new_status": "degraded", "impacted_by": [str(chain["db"].pk)]}


def test_adding_and_removing_an_edge_moves_the_impact_of_the_system_and_its_dependents(chain):
    extra = make_system("queue")
    health_report(system=extra, status="unhealthy", actor=ACTOR)
    marker = last_event_id()

    dependency = dependency_create(system_id=chain["cache"].pk, depends_on_id=extra.pk, impact="partial",
                                   actor="user:ops")

    # The queue's first edge gives it an impact entity (its own health); its dependents are made worse.
    queue = str(extra.pk)
    assert sorted(impact_changes(marker)) == sorted(
        [(queue, {"status": "unhealthy", "impacted_by": []}, "user:ops")] + [
        (str(chain[name].pk), {"status": "degraded", "impacted_by": [queue]}, "user:ops")
        for name in ("web", "api", "cache")])
    marker = last_event_id()
    dependency_delete(dependency=dependency, actor="user:ops")
    # Left without any edge, the queue's impact is its own health again: the entity goes (a tombstone).
    assert sorted(impact_changes(marker)) == sorted([(queue, {}, "user:ops")] + [
        (str(chain[name].pk), {"status": "healthy", "impacted_by": []}, "user:ops")
        for name in ("web", "api", "cache")])
    assert not SystemImpact.objects.filter(pk=extra.pk).exists()


def test_deleting_a_system_recomputes_what_depended_on_it(chain):
    health_report(system=chain["db"], status="unhealthy", actor=ACTOR)
    marker, db = last_event_id(), str(chain["db"].pk)

    system_delete(system=chain["db"], actor="user:ops")

    assert not Dependency.objects.filter(depends_on__name="db").exists()
    assert SystemImpact.objects.get(pk=chain["web"].pk).status == "healthy"
    assert {entity for entity, _delta, _actor in impact_changes(marker)} == {
        db, *(str(chain[name].pk) for name in ("web", "api", "cache"))}


def test_crud_shape(admin_api, chain):
    listed = admin_api.get(URL).json()
    assert listed["count"] == 3
    assert set(listed["results"][0]) == {"id", "system_id", "depends_on_id", "impact"}
    queue = make_system("queue")

    created = admin_api.post(URL, {"system_id": str(chain["db"].pk), "depends_on_id": str(queue.pk),
                                   "impact": "partial"}, format="json")

    assert created.status_code == 201, created.content
    edge = Dependency.objects.get(pk=created.json()["id"])
    assert created.json() == {"id": str(edge.pk), "system_id": str(chain["db"].pk), "depends_on_id": str(queue.pk),
                              "impact": "partial"}
    patched = admin_api.patch(f"{URL}{edge.pk}/", {"impact": "full"}, format="json")
    assert patched.json()["impact"] == "full"
    assert admin_api.get(f"{URL}?system_id={chain['db'].pk}").json()["count"] == 1
    assert admin_api.delete(f"{URL}{edge.pk}/").status_code == 204
    assert not Dependency.objects.filter(pk=edge.pk).exists()


def test_a_bad_edge_is_a_400_with_a_field_error_and_changes_nothing(admin_api, chain):
    web, db, api = (str(chain[name].pk) for name in ("web", "db", "api"))
    cases = [
        ({"system_id": db, "depends_on_id": web}, "depends_on_id", "would close a cycle"),
        ({"system_id": db, "depends_on_id": db}, "depends_on_id", "cannot depend on itself"),
        ({"system_id": web, "depends_on_id": api}, "depends_on_id", "already depends"),
        ({"system_id": web, "depends_on_id": str(uuid.uuid4())}, "depends_on_id", "Unknown system"),
        ({"system_id": web, "depends_on_id": db, "impact": "some"}, "impact", "not a valid choice"),
        ({"system_id": "nope", "depends_on_id": db}, "system_id", "valid UUID"),
    ]
    before = (log_size(), list(Dependency.objects.order_by("pk").values_list("pk", "system", "depends_on", "impact")))
    for body, field, words in cases:
        response = admin_api.post(URL, body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == [field] and words in response.json()[field][0], response.json()
    edge = Dependency.objects.get(system=chain["cache"])
    response = admin_api.patch(f"{URL}{edge.pk}/", {"depends_on_id": web}, format="json")
    assert response.status_code == 400 and "would close a cycle" in response.json()["depends_on_id"][0]
    after = (log_size(), list(Dependency.objects.order_by("pk").values_list("pk", "system", "depends_on", "impact")))
    assert after == before


def test_writes_need_the_model_permissions(chain):
    reader = api_as("reader", "catalog.view_dependency")
    assert reader.get(URL).status_code == 200
    body = {"system_id": str(chain["db"].pk), "depends_on_id": str(make_system("queue").pk)}
    assert reader.post(URL, body, format="json").status_code == 403
    assert api_as("nobody").get(URL).status_code == 403
    assert api_as("writer", "catalog.add_dependency").post(URL, body, format="json").status_code == 201


def test_the_system_health_in_the_api_shows_the_impact(admin_api, chain):
    health_report(system=chain["db"], status="unhealthy", actor=ACTOR)

    health = admin_api.get(f"/api/v1/systems/{chain['web'].pk}/").json()["health"]

    assert (health["status"], health["impact_status"], health["impacted_by"]) == (
        "healthy", "unhealthy", [str(chain["db"].pk)])
    assert admin_api.get(f"/api/v1/systems/{chain['web'].pk}/health/").json()["impacted_by"] == [str(chain["db"].pk)]


def test_list_query_count_does_not_grow(admin_api, chain, django_assert_num_queries):
    with django_assert_num_queries(2):  # count, page (both systems joined in)
        admin_api.get(URL)
    queue = make_system("queue")
    dependency_create(system_id=chain["db"].pk, depends_on_id=queue.pk, actor=ACTOR)
    with django_assert_num_queries(2):
        admin_api.get(URL)


def test_a_graph_read_inside_a_rolled_back_edge_write_is_not_reused(chain):
    queue = make_system("queue")
    health_report(system=queue, status="healthy", actor=ACTOR)
    with pytest.raises(RuntimeError), transaction.atomic():
        dependency_create(system_id=chain["db"].pk, depends_on_id=queue.pk, actor=ACTOR)  # reads the new graph
        raise RuntimeError("the caller fails after the write")

    health_report(system=queue, status="unhealthy", actor=ACTOR)

    # The edge never committed: db and what depends on it are untouched by the queue's failure.
    assert SystemImpact.objects.get(pk=chain["web"].pk).status == "healthy"
    assert SystemImpact.objects.get(pk=chain["db"].pk).impacted_by == []


def test_a_shell_save_of_health_moves_the_impact_too(chain):
    from automation.entities.actor import acting_as
    from catalog.models import SystemHealth

    with acting_as("user:shell"):
        health = SystemHealth.objects.get(pk=chain["db"].pk)
        health.status = "degraded"
        health.save()

    assert impacts_of(chain, "web") == ("degraded", [str(chain["db"].pk)])
    assert ChangeEvent.objects.filter(kind="impact", entity_id=str(chain["web"].pk)).latest("id").actor == "user:shell"


def impacts_of(chain, name):
    row = SystemImpact.objects.get(pk=chain[name].pk)
    return row.status, row.impacted_by
