"""Every admin action and every custom API route names the permission it needs and refuses users without it.

The routes and actions are enumerated (URL resolver, `admin.site._registry`), so a new one is checked as soon
as it exists; the test also proves it saw the ones it knows of. Each refusal is shown to change nothing, and
a positive control (the same request by a superuser) shows the request itself would have.
"""

import uuid

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver, reverse
from rest_framework.test import APIClient
from rest_framework.views import APIView

from automation.automation_templates import TEMPLATES
from automation.models import Run, RunStatus
from foundation.permissions import undeclared_actions

# Custom API routes (viewset actions and non-CRUD views) known today; the walk must find at least these.
KNOWN_ROUTES = {
    "automation-validate", "automation-simulate", "automation-why", "automation-enable", "automation-disable",
    "automation-run", "run-cancel", "automation-template-install", "incident-updates", "incident-resolve",
    "maintenance-updates", "maintenance-close", "system-health",
}
KNOWN_ADMIN_ACTIONS = {
    "enable_selected", "disable_selected", "run_now", "cancel_selected", "resolve_selected", "close_windows",
    "send_confirmation", "delete_selected",
}
# Bodies that succeed for a superuser: the positive control of each refusal.
BODIES = {
    "automation-run": {"payload": {}},
    "automation-disable": {},
    "run-cancel": {},
    "incident-updates": {"message": "checking"},
    "incident-resolve": {"message": "fixed"},
    "maintenance-updates": {"message": "started"},
    "maintenance-close": {},
    "system-health": {"status": "degraded"},
}


def _patterns(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, ":".join(filter(None, [namespace, pattern.namespace])))
        else:
            yield namespace, pattern


def custom_api_routes() -> list[dict]:
    """(name, view class, action, method, kwargs) of each custom viewset action and each non-viewset API write."""
    routes = []
    for namespace, pattern in _patterns(get_resolver().url_patterns):
        cls = getattr(pattern.callback, "cls", None)
        if cls is None or not issubclass(cls, APIView) or cls.__module__.startswith("drf_spectacular"):
            continue
        name = ":".join(filter(None, [namespace, pattern.name]))
        actions = getattr(pattern.callback, "actions", None)
        if actions is not None:
            extra = {a.__name__ for a in cls.get_extra_actions()}
            found = [(m, a) for m, a in actions.items() if a in extra]
        else:  # a plain APIView: its writes are custom routes
            found = [(m, m) for m in ("post", "put", "patch", "delete") if hasattr(cls, m)]
        for method, action in found:
            routes.append({"name": name, "cls": cls, "action": action, "method": method,
                           "kwargs": list(pattern.pattern.regex.groupindex)})
    return routes


def _url(route, world) -> str:
    model = getattr(getattr(route["cls"], "queryset", None), "model", None)
    if route["name"].startswith("automation-template"):
        pk = next(iter(TEMPLATES))
    elif route["name"] == "system-health":
        pk = world["system"]
    else:
        row = model.objects.order_by("pk").first() if model is not None else None
        pk = row.pk if row is not None else uuid.uuid4()
    return reverse(route["name"], kwargs={k: pk for k in route["kwargs"]})


def database_snapshot() -> dict:
    """Every row of every table (sessions aside: logging in writes one)."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if model is not Session
    }


def _user(django_user_model, name, codenames=None):
    user = django_user_model.objects.create_user(name, password=None)
    if codenames is not None:
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def world(admin_api):
    system = admin_api.post("/api/v1/systems/", {"name": "api"}, format="json").json()["id"]
    admin_api.post("/api/v1/incidents/", {"title": "down", "system_ids": [system]}, format="json")
    admin_api.post("/api/v1/maintenances/", {"title": "upgrade", "system_ids": [system],
                   "start_at": "2030-01-01T00:00:00Z", "end_at": "2030-01-01T02:00:00Z"}, format="json")
    admin_api.post("/api/v1/subscribers/", {"email": "ann@example.com", "system_ids": [system]}, format="json")
    automation = admin_api.post("/api/v1/automations/", {
        "name": "nightly", "triggers": [{"event": "automation.manual"}],
        "actions": [{"action": "automation.log", "config": {"message": "hello"}}]}, format="json").json()["id"]
    assert admin_api.post(f"/api/v1/automations/{automation}/run/", {"payload": {}}, format="json").status_code == 201
    return {"system": system, "automation": automation}


@pytest.fixture
def viewer(django_user_model):
    """Holds every view_ permission and nothing else."""
    return _user(django_user_model, "viewer", Permission.objects.filter(codename__startswith="view_")
                 .values_list("codename", flat=True))


def _client(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _call(client, route, url):
    return getattr(client, route["method"])(url, BODIES.get(route["name"], {}), format="json")


def test_the_walk_sees_every_known_custom_route_and_each_declares_a_permission():
    routes = custom_api_routes()
    assert KNOWN_ROUTES <= {route["name"] for route in routes}
    assert len(routes) >= len(KNOWN_ROUTES)
    viewsets = {route["cls"] for route in routes if hasattr(route["cls"], "get_extra_actions")}
    assert {cls.__name__ for cls in viewsets} >= {"AutomationViewSet", "RunViewSet", "IncidentViewSet"}
    for cls in viewsets:
        assert undeclared_actions(cls) == [], cls
    for route in routes:
        if route["cls"] in viewsets:
            assert route["cls"].action_permissions[route["action"]], route  # none open to any logged-in user


@pytest.mark.django_db
def test_custom_routes_refuse_anonymous_users_and_users_without_the_permission(world, viewer, django_user_model):
    nobody = _user(django_user_model, "nobody")
    routes = custom_api_routes()
    for route in routes:
        url = _url(route, world)
        before = database_snapshot()
        assert _call(_client(None), route, url).status_code == 401, route
        assert _call(_client(nobody), route, url).status_code == 403, route
        declared = getattr(route["cls"], "action_permissions", {}).get(route["action"])
        reads = declared is not None and all(perm.split(".")[1].startswith("view_") for perm in declared)
        response = _call(_client(viewer), route, url)
        if not reads:
            assert response.status_code == 403, (route, response.content)
        assert response.status_code < 500, route
        assert database_snapshot() == before, route  # refused (or a read): nothing written


@pytest.mark.django_db
def test_each_refused_route_succeeds_for_a_superuser(world, admin_api):
    """The control: the bodies above do change things, so 'nothing changed' was the permission's doing."""
    routes = {route["name"]: route for route in custom_api_routes()}
    for name in BODIES:
        before = database_snapshot()
        response = _call(admin_api, routes[name], _url(routes[name], world))
        assert response.status_code in (200, 201), (name, response.content)
        assert database_snapshot() != before, name


def _admin_actions():
    """(model admin, action name, declared permissions) of every action of every registered model admin."""
    return [
        (model_admin, name, getattr(func, "allowed_permissions", ()))
        for model_admin in admin.site._registry.values()
        for func, name, _description in model_admin._get_base_actions()
    ]


def test_every_admin_action_declares_the_permissions_it_needs():
    actions = _admin_actions()
    assert KNOWN_ADMIN_ACTIONS <= {name for _, name, _ in actions}
    assert len(actions) >= len(KNOWN_ADMIN_ACTIONS)
    for model_admin, name, permissions in actions:
        assert permissions, f"{model_admin}: {name}"
        for permission in permissions:
            assert callable(getattr(model_admin, f"has_{permission}_permission", None)), (model_admin, name)


@pytest.mark.django_db
def test_admin_actions_are_neither_offered_to_nor_run_for_view_only_users(world, viewer, django_user_model):
    nobody = _user(django_user_model, "nobody")
    actions = _admin_actions()
    for user in (viewer, nobody):
        request = RequestFactory().get("/admin/")
        request.user = user
        offered = {str(ma): list(ma.get_actions(request)) for ma in admin.site._registry.values()}
        assert all(names == [] for names in offered.values()), offered
        client = Client()
        client.force_login(user)
        before = database_snapshot()
        for model_admin, name, _ in actions:
            opts = model_admin.model._meta
            pks = [str(pk) for pk in model_admin.model._base_manager.values_list("pk", flat=True)]
            response = client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                                   {"action": name, "_selected_action": pks, "index": "0", "post": "yes"})
            assert response.status_code in (200, 302, 403), (model_admin, name)
        assert database_snapshot() == before


@pytest.mark.django_db
def test_cancel_selected_runs_needs_change_automation_not_view_run(world, viewer, admin_client):
    run = Run.objects.get()
    assert run.status == RunStatus.PENDING
    client = Client()
    client.force_login(viewer)
    url = reverse("admin:automation_run_changelist")
    client.post(url, {"action": "cancel_selected", "_selected_action": [str(run.pk)], "index": "0"})
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING
    admin_client.post(url, {"action": "cancel_selected", "_selected_action": [str(run.pk)], "index": "0"})
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


@pytest.mark.django_db
def test_the_run_page_is_read_only_even_for_a_superuser_and_its_post_writes_nothing(world, admin_client):
    # Given a run the admin page was read at, then changed by a worker
    run = Run.objects.get()
    url = reverse("admin:automation_run_change", args=[run.pk])
    page = admin_client.get(url)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, attempts=2)

    # When the page's form is posted back
    response = admin_client.post(url, {"_save": "Save"})

    # Then it is refused, the page offered no save, and the worker's write stands
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 2)
