"""The demo shows groups, a dependency that explains an outage and a resolved incident; a second run changes
nothing."""

import pytest
from django.core.management import call_command

from automation.models import ChangeEvent
from catalog.models import Group, System, SystemImpact
from catalog.selectors import status_sections
from incidents.models import Incident

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_demo_has_groups_a_dependency_behind_an_outage_and_a_resolved_incident(admin_user):
    call_command("checkstack_demo")

    sections = [(s.group and s.group.name, [x.name for x in s.systems], s.status) for s in status_sections()]
    assert sections[:2] == [("Storefront", ["Checkout API", "Search"], "degraded"),
                            ("Platform", ["Notifications", "Search index"], "unhealthy")]
    search, index = System.objects.get(name="Search"), System.objects.get(name="Search index")
    assert search.health.status == "healthy"  # its own report: the dependency explains the trouble
    impact = SystemImpact.objects.get(pk=search.pk)
    assert (impact.status, impact.impacted_by) == ("degraded", [str(index.pk)])
    resolved = Incident.objects.get(title="Checkout errors")
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert [u.status_change for u in resolved.updates.order_by("created_at")] == [
        "investigating", "identified", "monitoring", "resolved"]

    counts = (Group.objects.count(), System.objects.count(), Incident.objects.count(), ChangeEvent.objects.count())
    call_command("checkstack_demo")
    assert (Group.objects.count(), System.objects.count(), Incident.objects.count(),
            ChangeEvent.objects.count()) == counts
