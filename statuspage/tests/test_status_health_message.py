"""The public page shows a status for every system, and a message only when one was reported, cut short."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import HealthSource, SystemHealth
from catalog.services import health_report, system_create, system_update
from checks.execution import check_execute
from checks.models import Check
from checks.scheduling import checks_claim_due
from checks.tests.run_support import make_check, make_checked_system
from checks.tests.servers import BannerServer

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

BANNER = b"SSH-2.0-OpenSSH_9.6p1 build-7.corp.internal 10.20.30.40\r\n"


def run(check):
    """Claim `check` now and run it, as beat and a worker would."""
    Check.objects.filter(pk=check.pk).update(next_run_at=timezone.now() - timedelta(seconds=1), lease_until=None)
    claim = next(c for c in checks_claim_due() if c.check_id == str(check.pk))
    return check_execute(check_id=claim.check_id, lease=claim.lease)


def status_html() -> str:
    response = Client().get("/status/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_checks_error_text_never_reaches_the_public_page(client, django_user_model):
    # Given a system whose HTTP check hits an SSH daemon: the probe's error quotes its banner
    system = make_checked_system("Public API", threshold=1)
    with BannerServer(BANNER) as server:
        check = make_check(system, name="front", url=server.url)
        assert run(check).health_status == "unhealthy"
    health = SystemHealth.objects.get(pk=system.pk)
    assert "build-7.corp.internal 10.20.30.40" in health.message  # operators see it (the API, the admin)
    assert health.source == HealthSource.CHECKS

    # When anyone reads the public page
    html = status_html()

    # Then it shows the status, and none of the error: no banner, host name, address or port
    assert '<span class="badge unhealthy">unhealthy</span>' in html
    for leak in ("SSH-2.0", "OpenSSH", "corp.internal", "10.20.30.40", str(server.port), "front:"):
        assert leak not in html

    # And the operator API still shows the whole message
    client.force_login(django_user_model.objects.create_superuser("ops", password=None))
    assert "corp.internal 10.20.30.40" in client.get(f"/api/v1/systems/{system.pk}/health/").json()["message"]


def test_a_message_checks_wrote_stays_hidden_after_the_system_switches_to_reported_health():
    system = make_checked_system("Billing", threshold=1)
    with BannerServer(BANNER) as server:
        run(make_check(system, name="front", url=server.url))
    system_update(system=system, health_source=HealthSource.REPORTED, actor="user:ops")

    html = status_html()

    assert '<span class="badge unhealthy">unhealthy</span>' in html
    assert "corp.internal" not in html


def test_a_reported_message_is_shown_cut_to_the_setting(settings):
    settings.CHECKSTACK_STATUS_MESSAGE_CHARS = 18
    short = system_create(name="Short", actor="system")
    long = system_create(name="Long", actor="system")
    health_report(system=short, status="degraded", message="Elevated latency", actor="system")
    health_report(system=long, status="degraded", message="Payments are slow in one region " * 100,
                  actor="system")

    html = status_html()

    assert '<span class="muted">Elevated latency</span>' in html
    assert '<span class="muted">Payments are slow…</span>' in html  # 17 characters and the ellipsis
    assert "one region" not in html


def test_the_upgrade_marks_the_health_of_systems_managed_by_checks_as_written_by_them():
    from importlib import import_module

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    # The models as the migration sees them (plain managers, as in a real upgrade)
    apps = MigrationExecutor(connection).loader.project_state(("catalog", "0007_health_source_written")).apps
    checked = make_checked_system("Checked")
    health_report(system=checked, status="unhealthy", message="front: refused by 10.0.0.7",
                  actor="system:checks", source=HealthSource.CHECKS)
    reported = system_create(name="Reported", actor="system")
    health_report(system=reported, status="healthy", message="all good", actor="system")
    apps.get_model("catalog", "SystemHealth").objects.update(source=HealthSource.REPORTED)  # the column's default

    import_module("catalog.migrations.0007_health_source_written").seed_source(apps, None)

    assert dict(SystemHealth.objects.values_list("system__name", "source")) == {
        "Checked": HealthSource.CHECKS, "Reported": HealthSource.REPORTED}
