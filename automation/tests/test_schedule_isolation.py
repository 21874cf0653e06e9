"""A cron that can never fire is refused; one failing schedule never stops the others."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.documents.validate import validate_document
from automation.engine.firing.schedules import schedules_fire
from automation.models import Run
from automation.services.automations import automation_create
from automation.tests.engine_support import make_automation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

LOG_STEP = [{"action": "automation.log", "config": {"message": "tick"}}]


def cron_document(name: str, cron: str) -> dict:
    return {"name": name, "triggers": [{"event": "automation.cron", "config": {"cron": cron}}], "actions": LOG_STEP}


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "15 3 31 11 *"])
def test_a_cron_that_names_no_date_is_refused(cron):
    result = validate_document(cron_document("never", cron))

    assert result.document is None
    assert result.errors == [{"path": "triggers.0.config.cron",
                              "message": "Value error, never fires: no date matches it"}]


@pytest.mark.parametrize("cron", ["0 0 29 2 *", "0 0 31 * *", "*/5 * * * *"])
def test_a_rare_cron_that_does_fire_is_accepted(cron):
    assert validate_document(cron_document("rare", cron)).errors == []


def test_a_schedule_that_fails_does_not_stop_the_schedules_after_it(caplog):
    # Given a cron saved before validation refused it (forced in, as an old row would be), then a good one
    result = validate_document(cron_document("broken", "0 0 1 1 *"))
    result.document["triggers"][0]["config"]["cron"] = "0 0 30 2 *"
    broken = automation_create(document=result.document, actor="user:test")
    good = make_automation(cron_document("every minute", "* * * * *"))

    # When the sweep runs on two ticks
    later = timezone.now() + timedelta(minutes=1)
    with caplog.at_level(logging.ERROR, logger="automation.engine.firing.schedules"):
        first = schedules_fire(now=later)
        second = schedules_fire(now=later + timedelta(minutes=1))

    # Then the good schedule fired on each, the broken one recorded nothing and was logged each time
    assert (first, second) == (1, 1)
    assert Run.objects.filter(automation=good).count() == 2
    assert not Run.objects.filter(automation=broken).exists()
    failures = [r for r in caplog.records if r.name == "automation.engine.firing.schedules"]
    assert [r.getMessage() for r in failures] == [f"schedule automation_cron of automation {broken.pk} failed"] * 2
    # The formatted text, not exc_info: the secret-masking filter replaces exc_info with masked text when this
    # context has resolved a secret.
    assert caplog.text.count("CroniterBadDateError: failed to find prev date") == 2
