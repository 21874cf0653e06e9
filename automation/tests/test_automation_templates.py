"""Automation templates: the catalogue API, installing (API, admin, checkstack_demo) and, for each template, an
end-to-end run driven by real health, incident and maintenance changes."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from automation.automation_templates import TEMPLATES
from automation.engine.runs.runner import run_advance
from automation.engine.waiting.timers import timers_fire_due
from automation.entities.delivery import route_change_event
from automation.models import Automation, ChangeEvent, Run, RunStatus
from automation.services.automation_templates import automation_template_install
from automation.tests.engine_support import clock
from catalog.models import System
from catalog.services import health_report, system_create
from incidents.models import Incident
from incidents.services import incident_create, incident_resolve
from maintenance.models import MaintenanceWindow
from maintenance.services import maintenance_close, maintenance_create, maintenance_update
from testing.http_receiver import Receiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
URL = "/api/v1/automation-templates/"


def settle(rounds: int = 6) -> None:
    """What workers and beat would do until quiet: route, fire due timers, advance and resume runs.

    Waiting runs are resumed every round (a resume re-checks the wait and parks again if it still waits): the
    wake-up paths themselves are tested in test_engine_waiting; here the documents are under test.
    """
    for _ in range(rounds):
        for change_id in ChangeEvent.objects.filter(routed_at=None).order_by("id").values_list("change_id", flat=True):
            route_change_event(str(change_id))
        timers_fire_due()
        for run in Run.objects.filter(status__in=[RunStatus.PENDING, RunStatus.WAITING]).order_by("created_at"):
            run_advance(run_id=run.pk, resume=run.status == RunStatus.WAITING)


def install(template_id, editor, **parameters):
    return automation_template_install(template=TEMPLATES[template_id], parameters=parameters, editor=editor)


# --- the catalogue and installing -----------------------------------------------------------------------


def test_the_catalogue_lists_each_template_with_its_parameters_and_a_valid_preview(admin_api):
    body = admin_api.get(URL).json()
    assert body["count"] == 5
    ids = [item["id"] for item in body["results"]]
    assert sorted(ids) == sorted(TEMPLATES)
    sustained = admin_api.get(f"{URL}incident-on-sustained-degradation/").json()
    assert sustained["parameters_schema"]["properties"]["minutes"]["default"] == 5
    assert sustained["document"]["triggers"][0] == {"event": "healthcheck.system_degraded", "for": {"minutes": 5},
                                                    "id": "healthcheck_system_degraded"}
    assert admin_api.get(f"{URL}no-such-template/").status_code == 404
    assert APIClient().get(URL).status_code == 401


def test_install_creates_an_automation_with_the_parameters(admin_api):
    response = admin_api.post(f"{URL}incident-on-flapping/install/", {"parameters": {"count": 4, "minutes": 10}},
                              format="json")
    assert response.status_code == 201, response.content
    automation = Automation.objects.get(pk=response.json()["id"])
    assert automation.document["triggers"][0]["window"] == {"count": 4, "minutes": 10, "refire": "once"}
    assert response.json()["run_as"] == "admin"


@pytest.mark.parametrize("body, field", [
    ({"parameters": {"count": 0}}, "parameters"),
    ({"parameters": {"bogus": 1}}, "parameters"),
    ({"parameters": "not an object"}, "parameters"),
])
def test_bad_parameters_are_a_400_and_save_nothing(admin_api, body, field):
    response = admin_api.post(f"{URL}incident-on-flapping/install/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Automation.objects.exists()


def test_a_required_parameter_and_a_taken_name_are_400s(admin_api):
    missing = admin_api.post(f"{URL}webhook-on-incident-change/install/", {}, format="json")
    assert missing.status_code == 400 and "url" in missing.json()["parameters"]
    assert admin_api.post(f"{URL}incident-on-flapping/install/", {}, format="json").status_code == 201
    again = admin_api.post(f"{URL}incident-on-flapping/install/", {}, format="json")
    assert again.status_code == 400 and "name" in again.json()
    assert Automation.objects.count() == 1


def test_installing_needs_add_automation_and_the_actions_permissions(django_user_model):
    user = django_user_model.objects.create_user("ed", password=None)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_automation"]))
    client = APIClient()
    client.force_authenticate(user)
    assert client.get(URL).status_code == 200
    assert client.post(f"{URL}incident-on-flapping/install/", {}, format="json").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_automation"))
    user = django_user_model.objects.get(pk=user.pk)  # drop the permission cache
    client.force_authenticate(user)
    refused = client.post(f"{URL}incident-on-flapping/install/", {}, format="json")
    assert refused.status_code == 403 and "incidents.add_incident" in refused.json()["detail"]
    assert not Automation.objects.exists()


def test_admin_installs_a_template_and_shows_form_errors(admin_client):
    page = admin_client.get("/admin/automation/automation/install-template/")
    assert page.status_code == 200 and "Incident on flapping health" in page.content.decode()
    assert "Install a template" in admin_client.get("/admin/automation/automation/").content.decode()
    bad = admin_client.post("/admin/automation/automation/install-template/",
                            {"template": "incident-on-flapping", "parameters": "count: [", "enabled": "on"})
    assert bad.status_code == 200 and bad.context["form"].errors["parameters"]
    wrong = admin_client.post("/admin/automation/automation/install-template/",
                              {"template": "incident-on-flapping", "parameters": "count: 0", "enabled": "on"})
    assert "count" in " ".join(wrong.context["form"].errors["parameters"])
    assert not Automation.objects.exists()
    done = admin_client.post("/admin/automation/automation/install-template/",
                             {"template": "incident-on-flapping", "parameters": "count: 5", "name": "Flaps",
                              "enabled": "on"})
    assert done.status_code == 302
    assert Automation.objects.get(name="Flaps").document["triggers"][0]["window"]["count"] == 5


def test_checkstack_demo_is_idempotent(admin_user):
    call_command("checkstack_demo")
    counts = (System.objects.count(), Incident.objects.count(), MaintenanceWindow.objects.count(),
              Automation.objects.count(), ChangeEvent.objects.count())
    assert counts[:4] == (5, 2, 1, 5)  # four demo systems and Checkstack itself (checked); one incident resolved;
    # the five templates
    assert not Automation.objects.get(name="Webhook on every incident change").enabled
    call_command("checkstack_demo")
    assert (System.objects.count(), Incident.objects.count(), MaintenanceWindow.objects.count(),
            Automation.objects.count(), ChangeEvent.objects.count()) == counts


# --- each template end to end -----------------------------------------------------------------------------


def test_sustained_degradation_opens_one_incident_and_resolves_it_after_the_cooldown(admin_user):
    with clock(timezone.now()) as advance:
        install("incident-on-sustained-degradation", admin_user, minutes=5, cooldown_minutes=10)
        api = system_create(name="api", actor="system")
        health_report(system=api, status="degraded", actor="system")
        settle()
        advance(timedelta(minutes=4))
        health_report(system=api, status="unhealthy", actor="system")  # still degraded-or-worse: same dwell
        settle()
        assert not Incident.objects.exists()  # not yet 5 minutes
        advance(timedelta(minutes=1, seconds=5))
        settle()
        [incident] = Incident.objects.all()
        assert (incident.title, incident.status, incident.severity) == ("api is degraded", "investigating", "major")

        health_report(system=api, status="healthy", actor="system")
        settle()
        advance(timedelta(minutes=9))
        settle()
        assert Incident.objects.get().status == "investigating"  # healthy, but not for 10 minutes yet
        advance(timedelta(minutes=1, seconds=5))
        settle()
        incident.refresh_from_db()
        assert incident.status == "resolved"
        assert incident.updates.order_by("-created_at").first().message == "Recovered: healthy for 10 minutes."
        assert Incident.objects.count() == 1


def test_a_short_blip_opens_nothing(admin_user):
    with clock(timezone.now()) as advance:
        install("incident-on-sustained-degradation", admin_user, minutes=5)
        api = system_create(name="api", actor="system")
        health_report(system=api, status="degraded", actor="system")
        settle()
        advance(timedelta(minutes=2))
        health_report(system=api, status="healthy", actor="system")  # breaks the dwell
        settle()
        advance(timedelta(minutes=10))
        settle()
    assert not Incident.objects.exists()


def test_flapping_opens_one_incident_at_the_third_departure_from_healthy(admin_user):
    install("incident-on-flapping", admin_user, count=3, minutes=30)
    api = system_create(name="api", actor="system")
    for status in ["degraded", "healthy", "unhealthy", "healthy"]:
        health_report(system=api, status=status, actor="system")
    settle()
    assert not Incident.objects.exists()  # two departures so far
    health_report(system=api, status="degraded", actor="system")
    settle()
    [incident] = Incident.objects.all()
    assert (incident.title, incident.severity) == ("api is flapping", "minor")
    health_report(system=api, status="healthy", actor="system")
    health_report(system=api, status="degraded", actor="system")  # a fourth: `once` fires no more
    settle()
    assert Incident.objects.count() == 1


def test_maintenance_start_and_end_are_noted_on_open_incidents_of_its_systems(admin_user):
    install("maintenance-notes-on-incidents", admin_user)
    db, api = system_create(name="db", actor="system"), system_create(name="api", actor="system")
    on_db = incident_create(title="DB slow", system_ids=[db.pk], actor="user:ops")
    on_api = incident_create(title="API slow", system_ids=[api.pk], actor="user:ops")
    closed = incident_create(title="Old DB issue", system_ids=[db.pk], actor="user:ops")
    incident_resolve(incident=closed, actor="user:ops")
    start = timezone.now() + timedelta(hours=1)
    window = maintenance_create(title="DB upgrade", system_ids=[db.pk], start_at=start,
                                end_at=start + timedelta(hours=1), actor="user:ops")
    settle()
    maintenance_update(window=window, end_at=start + timedelta(hours=2), actor="user:ops")  # not a start
    settle()
    assert not on_db.updates.filter(message__startswith="Maintenance").exists()
    maintenance_update(window=window, status="in_progress", actor="system")
    settle()
    maintenance_close(window=window, actor="user:ops")
    settle()
    notes = list(on_db.updates.filter(message__startswith="Maintenance").order_by("created_at")
                 .values_list("message", flat=True))
    assert notes == ["Maintenance on this system has started.", "Maintenance on this system has ended."]
    assert not on_api.updates.filter(message__startswith="Maintenance").exists()
    assert not closed.updates.filter(message__startswith="Maintenance").exists()
    assert Run.objects.get().status == RunStatus.SUCCEEDED


def test_the_webhook_template_posts_every_incident_change(admin_user, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    api = system_create(name="api", actor="system")
    with Receiver() as receiver:
        install("webhook-on-incident-change", admin_user, url=receiver.url)
        incident = incident_create(title="API down", system_ids=[api.pk], severity="critical", actor="user:ops")
        settle()
        incident_resolve(incident=incident, actor="user:ops")
        settle()
    bodies = [request["body"] for request in receiver.requests]
    assert [(b["event"], b["status"], b["title"]) for b in bodies] == [
        ("incident.created", "investigating", "API down"), ("incident.resolved", "resolved", "API down")]
    assert bodies[0]["system_ids"] == [str(api.pk)] and bodies[0]["severity"] == "critical"
