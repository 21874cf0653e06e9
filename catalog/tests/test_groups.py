"""groups/ CRUD, group_id on systems, the `group` entity kind, group status and the admin's group pages."""

import uuid

import pytest

from automation.entities.tracked import UntrackedWriteError
from automation.models import ChangeEvent
from catalog.groups import group_create
from catalog.models import Group, System
from catalog.selectors import status_sections
from catalog.services import health_report, system_update

from .factories import ACTOR, api_as, change_events, log_size, make_system, transition_rows

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/groups/"


def test_crud_with_read_only_system_ids(admin_api):
    created = admin_api.post(URL, {"name": "Payments", "description": "money", "position": 2,
                                   "system_ids": ["ignored"]}, format="json")

    assert created.status_code == 201, created.content
    group = Group.objects.get()
    assert created.json() == {"id": str(group.pk), "name": "Payments", "description": "money", "position": 2,
                              "system_ids": []}
    assert transition_rows(group.pk) == [
        ("group", "description", None, "money", "user:admin"),
        ("group", "name", None, "Payments", "user:admin"),
        ("group", "position", None, 2, "user:admin"),
    ]
    a, b = make_system("a", group_id=group.pk), make_system("b")
    assert admin_api.patch(f"/api/v1/systems/{b.pk}/", {"group_id": str(group.pk)}, format="json").status_code == 200
    assert admin_api.get(f"{URL}{group.pk}/").json()["system_ids"] == sorted([str(a.pk), str(b.pk)])

    patched = admin_api.patch(f"{URL}{group.pk}/", {"position": 0}, format="json")
    assert patched.json()["position"] == 0
    assert change_events(group.pk)[-1].delta == {"position": 0}


def test_groups_list_in_position_order_with_constant_queries(admin_api, django_assert_num_queries):
    for name, position in (("b", 1), ("a", 1), ("c", 0)):
        make_system(f"s-{name}", group_id=group_create(name=name, position=position, actor=ACTOR).pk)
    with django_assert_num_queries(3):  # count, page, the page's systems
        listed = admin_api.get(URL).json()["results"]
    assert [g["name"] for g in listed] == ["c", "a", "b"]


def test_system_group_id_is_tracked_state_and_validated(admin_api):
    group = group_create(name="Payments", actor=ACTOR)
    system = make_system("api")

    response = admin_api.patch(f"/api/v1/systems/{system.pk}/", {"group_id": str(group.pk)}, format="json")

    assert response.status_code == 200 and response.json()["group_id"] == str(group.pk)
    event = change_events(system.pk)[-1]
    assert (event.kind, event.delta, event.actor) == ("system", {"group_id": str(group.pk)}, "user:admin")
    before = log_size()
    for bad in (str(uuid.uuid4()), "nope"):
        response = admin_api.patch(f"/api/v1/systems/{system.pk}/", {"group_id": bad}, format="json")
        assert response.status_code == 400 and list(response.json()) == ["group_id"]
    assert log_size() == before
    assert admin_api.get(f"/api/v1/systems/?group_id={group.pk}").json()["count"] == 1


def test_deleting_a_group_leaves_its_systems_ungrouped_through_the_service(admin_api):
    group = group_create(name="Payments", actor=ACTOR)
    systems = [make_system("a", group_id=group.pk), make_system("b", group_id=group.pk)]

    assert admin_api.delete(f"{URL}{group.pk}/").status_code == 204

    assert not Group.objects.exists()
    assert list(System.objects.order_by("name").values_list("group_id", flat=True)) == [None, None]
    for system in systems:
        assert change_events(system.pk)[-1].delta == {"group_id": None}
    tomb = change_events(group.pk)[-1]
    assert (tomb.kind, tomb.next, tomb.actor) == ("group", None, "user:admin")


def test_a_plain_delete_of_a_group_also_ungroups_through_the_service():
    group = group_create(name="Payments", actor=ACTOR)
    system = make_system("a", group_id=group.pk)

    Group.objects.get(pk=group.pk).delete()

    assert System.objects.get(pk=system.pk).group_id is None
    assert change_events(system.pk)[-1].delta == {"group_id": None}
    with pytest.raises(UntrackedWriteError):
        Group.objects.all().delete()


def test_bad_group_input_is_a_400_that_writes_nothing(admin_api):
    group_create(name="taken", actor=ACTOR)
    before = log_size()
    for body, field in (({"name": "taken"}, "name"), ({"name": ""}, "name"), ({"name": "x", "position": "top"},
                                                                              "position")):
        response = admin_api.post(URL, body, format="json")
        assert response.status_code == 400 and field in response.json()
    assert log_size() == before


def test_group_writes_need_permissions():
    assert api_as("reader", "catalog.view_group").post(URL, {"name": "x"}, format="json").status_code == 403
    assert api_as("writer", "catalog.add_group").post(URL, {"name": "x"}, format="json").status_code == 201


def test_group_status_is_the_worst_impact_status_of_its_systems(django_assert_num_queries):
    payments = group_create(name="Payments", position=1, actor=ACTOR)
    core = group_create(name="Core", position=0, actor=ACTOR)
    empty = group_create(name="Empty", position=2, actor=ACTOR)
    api = make_system("api", group_id=payments.pk)
    billing = make_system("billing", group_id=payments.pk)
    db = make_system("db", group_id=core.pk)
    loose = make_system("loose")
    health_report(system=api, status="degraded", actor=ACTOR)
    health_report(system=billing, status="healthy", actor=ACTOR)
    health_report(system=db, status="healthy", actor=ACTOR)

    with django_assert_num_queries(3):
        sections = status_sections()

    assert [(s.group and s.group.name, [x.name for x in s.systems], s.status) for s in sections] == [
        ("Core", ["db"], "healthy"), ("Payments", ["api", "billing"], "degraded"), ("Empty", [], None),
        (None, ["loose"], None)]
    assert empty and loose


def test_moving_a_system_between_groups_by_the_service_changes_the_tracked_group_id():
    first, second = group_create(name="first", actor=ACTOR), group_create(name="second", actor=ACTOR)
    system = make_system("api", group_id=first.pk)
    marker = ChangeEvent.objects.count()

    system_update(system=system, group_id=second.pk, actor="user:ann")

    [event] = ChangeEvent.objects.order_by("id")[marker:]
    assert (event.kind, event.prev["group_id"], event.next["group_id"]) == ("system", str(first.pk), str(second.pk))


def test_admin_group_page_assigns_systems_through_the_service(admin_client):
    group = group_create(name="Payments", actor=ACTOR)
    kept, added = make_system("kept", group_id=group.pk), make_system("added")
    dropped = make_system("dropped", group_id=group.pk)

    response = admin_client.post(f"/admin/catalog/group/{group.pk}/change/", {
        "name": "Payments", "description": "", "position": "3", "systems": [str(kept.pk), str(added.pk)]})

    assert response.status_code == 302
    assert sorted(System.objects.filter(group=group).values_list("name", flat=True)) == ["added", "kept"]
    assert change_events(added.pk)[-1].delta == {"group_id": str(group.pk)}
    assert change_events(dropped.pk)[-1].delta == {"group_id": None}
    assert len(change_events(kept.pk)) == 1  # unchanged: nothing written
    assert change_events(group.pk)[-1].delta == {"position": 3}


def test_admin_group_list_is_ordered_by_position_and_shows_status(admin_client):
    group_create(name="later", position=5, actor=ACTOR)
    first = group_create(name="first", position=1, actor=ACTOR)
    health_report(system=make_system("api", group_id=first.pk), status="unhealthy", actor=ACTOR)

    response = admin_client.get("/admin/catalog/group/")

    html = response.content.decode()
    assert html.index(">first<") < html.index(">later<")
    assert "unhealthy" in html


def test_admin_system_page_sets_the_group_and_shows_dependencies_and_impact(admin_client):
    from catalog.dependencies import dependency_create

    group = group_create(name="Payments", actor=ACTOR)
    api, db = make_system("api"), make_system("db")
    dependency_create(system_id=api.pk, depends_on_id=db.pk, impact="partial", actor=ACTOR)
    health_report(system=api, status="healthy", actor=ACTOR)
    health_report(system=db, status="unhealthy", actor=ACTOR)

    page = admin_client.get(f"/admin/catalog/system/{api.pk}/change/").content.decode()
    assert "degraded, affected by" in page and f"/admin/catalog/system/{db.pk}/change/" in page
    assert f"/admin/catalog/dependency/add/?system={api.pk}" in page
    db_page = admin_client.get(f"/admin/catalog/system/{db.pk}/change/").content.decode()
    assert "Depended on by" in db_page and f"/admin/catalog/system/{api.pk}/change/" in db_page

    response = admin_client.post(f"/admin/catalog/system/{api.pk}/change/", {
        "name": "api", "description": "", "metadata": "{}", "group": str(group.pk), "health_status": "healthy",
        "health_message": "", "health_latency_ms": "", "health_source": "reported",
        "health_failure_threshold": "3", "health_degraded_latency_ms": ""})
    assert response.status_code == 302
    assert change_events(api.pk, kind="system")[-1].delta == {"group_id": str(group.pk)}
    impacted = admin_client.get("/admin/catalog/system/?impacted=yes").content.decode()
    assert ">api<" in impacted and ">db<" not in impacted


def test_admin_dependency_form_refuses_a_cycle_with_a_form_error(admin_client):
    from catalog.dependencies import dependency_create
    from catalog.models import Dependency

    api, db = make_system("api"), make_system("db")
    dependency_create(system_id=api.pk, depends_on_id=db.pk, actor=ACTOR)
    before = log_size()

    response = admin_client.post("/admin/catalog/dependency/add/",
                                 {"system": str(db.pk), "depends_on": str(api.pk), "impact": "full"})

    assert response.status_code == 200
    assert "would close a cycle" in response.context["adminform"].form.errors["depends_on"][0]
    response = admin_client.post("/admin/catalog/dependency/add/",
                                 {"system": str(api.pk), "depends_on": str(db.pk), "impact": "full"})
    assert "already depends" in response.context["adminform"].form.errors["depends_on"][0]
    assert log_size() == before and Dependency.objects.count() == 1
    response = admin_client.post("/admin/catalog/dependency/add/",
                                 {"system": str(db.pk), "depends_on": str(make_system("disk").pk), "impact": "full"})
    assert response.status_code == 302 and Dependency.objects.count() == 2
