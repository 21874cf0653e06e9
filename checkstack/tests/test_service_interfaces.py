"""The domain apps' interfaces share one shape (docs/architecture.md, rule 4): their admins delete through
`ServiceDeleteAdmin` and their API viewsets write through `ServiceViewSet`, none with a copy of its own.
Both are found by walking what is registered (the admin site, the URL resolver), so a new one is checked."""

from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from automation.service_admin import ServiceDeleteAdmin
from automation.service_views import ServiceViewSet

DOMAIN_APPS = {"catalog", "checks", "incidents", "maintenance", "notifications"}


def domain_admins() -> dict[str, type]:
    return {model._meta.label: type(model_admin) for model, model_admin in admin.site._registry.items()
            if model._meta.app_label in DOMAIN_APPS}


def domain_viewsets(patterns=None) -> set[type]:
    """The viewset classes behind the API routes that live in the domain apps."""
    found = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found |= domain_viewsets(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            viewset = getattr(pattern.callback, "cls", None)
            if viewset is not None and viewset.__module__.split(".")[0] in DOMAIN_APPS and hasattr(
                    pattern.callback, "actions"):
                found.add(viewset)
    return found


def test_domain_admins_delete_through_their_services():
    admins = domain_admins()

    assert {"catalog.System", "checks.Check", "incidents.Incident", "maintenance.MaintenanceWindow",
            "notifications.Subscriber"} <= admins.keys()
    superuser = RequestFactory().get("/admin/")
    superuser.user = type("Superuser", (), {"is_active": True, "is_staff": True, "has_perm": lambda *a: True})()
    for label, admin_class in admins.items():
        model_admin = admin.site._registry[apps.get_model(label)]
        if not model_admin.has_delete_permission(superuser):
            continue  # records nobody deletes (retention purges them): nothing to route through a service
        assert issubclass(admin_class, ServiceDeleteAdmin), label
        own = {name for name in ("delete_model", "delete_queryset") if name in vars(admin_class)}
        assert own == set(), f"{label} deletes its own way: {own}"


def test_domain_viewsets_write_through_services():
    viewsets = domain_viewsets()

    assert {cls.__name__ for cls in viewsets} >= {"SystemViewSet", "CheckViewSet", "IncidentViewSet",
                                                   "MaintenanceViewSet", "SubscriberViewSet"}
    assert [cls.__name__ for cls in viewsets if not issubclass(cls, ServiceViewSet)] == []
