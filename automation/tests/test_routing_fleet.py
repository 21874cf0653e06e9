"""Routing at fleet size (docs/automations-indexing.md): a filter miss writes nothing, a window hold writes only its
count, a filter error is counted on the index row, and routing reads and locks only the automations a change can
fire."""

import threading

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from automation.engine.firing.routing import route_trigger_event
from automation.entities.delivery import route_change_event
from automation.models import Automation, AutomationTrigger, ChangeEvent, Run, RunStatus, WindowHit
from automation.services.automations import automation_update
from automation.tests.engine_support import make_automation
from catalog.services import health_report, system_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

EVENT = "healthcheck.system_health_changed"


def row_counts():
    return {model.__name__: model._base_manager.count() for model in apps.get_models()}


def grown(before):
    after = row_counts()
    return {name: after[name] - count for name, count in before.items() if after[name] != count}


def per_system(name, system_id, **trigger):
    return {"name": name, "triggers": [{"event": EVENT, "filter": f"trigger.payload.system_id == '{system_id}'",
                                        **trigger}],
            "actions": [{"action": "test.note", "config": {"text": name}}]}


def report_and_route(system, status):
    health_report(system=system, status=status, actor="system")
    route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))


def edit(automation, document):
    from automation.documents.validate import validate_document

    return automation_update(automation=automation, document=validate_document(document).document, actor="user:test")


def route(payload, key="c1"):
    return route_trigger_event(event=EVENT, payload=payload, context_key=payload.get("system_id"), firing_key=key,
                               actor="system")


def test_a_filter_miss_of_a_routed_change_leaves_no_row(journal):
    system, other = system_create(name="api", actor="system"), system_create(name="db", actor="system")
    make_automation(per_system("for-db", other.pk, window={"count": 1, "minutes": 5}))
    health_report(system=system, status="degraded", actor="system")
    before = row_counts()

    route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))

    # Only what the change itself routes to: its trigger events (system_degraded, system_health_changed); no
    # channel delivery (no channel listens), no run, no window hit, nothing of the automation.
    assert grown(before) == {"DerivedTriggerEvent": 2}
    assert ChangeEvent.objects.filter(kind="health").get().routed_at is not None


def test_a_firing_held_by_its_window_writes_only_its_count(journal):
    make_automation(per_system("flappy", "s1", window={"count": 2, "minutes": 5}))
    before = row_counts()
    assert route({"system_id": "s1"}) == []
    assert grown(before) == {"WindowHit": 1}
    [run] = route({"system_id": "s1"}, key="c2")
    assert run.status == RunStatus.PENDING
    assert WindowHit.objects.count() == 2


def test_a_filter_error_leaves_no_row_and_is_counted_on_the_index_row(journal):
    automation = make_automation({"name": "broken", "triggers": [
        {"event": EVENT, "filter": "trigger.payload.system_id + 1 > 0"}],
        "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    before = row_counts()
    assert route({"system_id": "s1"}) == []
    assert route({"system_id": "s1"}, key="c2") == []
    assert grown(before) == {}
    row = AutomationTrigger.objects.get(automation=automation)
    assert row.filter_errors == 2
    assert row.last_filter_error.startswith("can only concatenate str")
    assert row.last_filter_error_at is not None


def test_a_long_filter_error_is_fitted_to_its_column(journal):
    automation = make_automation({"name": "long", "triggers": [
        {"event": EVENT, "filter": "trigger.payload.missing.x.y + 1 > 0 or (" + "x" * 600 + ")()"}],
        "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    route({"system_id": "s1"})
    row = AutomationTrigger.objects.get(automation=automation)
    assert row.filter_errors == 1 and 0 < len(row.last_filter_error) <= 500


def test_saving_indexes_the_filter(journal):
    automation = make_automation(per_system("one", "s1"))
    row = AutomationTrigger.objects.get(automation=automation)
    assert (row.index_key, row.index_field) == ("eq:system_id:s1", None)
    doc = per_system("one", "s1")
    doc["triggers"][0]["filter"] = "'s1' in trigger.payload.system_ids"
    edit(automation, doc)
    row = AutomationTrigger.objects.get(automation=automation)
    assert (row.index_key, row.index_field) == ("in:system_ids:s1", "in:system_ids:*")


def test_a_string_where_a_list_was_expected_still_reaches_a_membership_trigger(journal):
    make_automation({"name": "member", "triggers": [{"event": EVENT, "filter": "'s1' in trigger.payload.system_ids"}],
                     "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    [run] = route({"system_id": "x", "system_ids": "s1,s2"})  # substring membership in Jinja: true
    assert run.status == RunStatus.PENDING
    assert route({"system_id": "x", "system_ids": ["s2"]}, key="c2") == []


@pytest.mark.integration  # the PostgreSQL pass only: it waits on a row lock from a second connection
def test_an_automation_edited_after_stage_one_is_decided_on_its_new_document(journal):
    """Stage 1 read version 1 (its filter passes); an edit commits while routing waits for the lock; the
    filter is evaluated again on version 2, which misses: nothing is written."""
    from testing.lock_waits import backend_pid, wait_until_waiting_on_lock

    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")
    automation = make_automation(per_system("edited", "s1"))
    holding, router_pid, errors, results = threading.Event(), [], [], []

    def router():
        try:
            router_pid.append(backend_pid())
            holding.wait(5)
            results.extend(route({"system_id": "s1"}))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=router)
    thread.start()
    with transaction.atomic():
        Automation.objects.select_for_update().get(pk=automation.pk)
        holding.set()
        while not router_pid:
            pass
        wait_until_waiting_on_lock(router_pid[0])
        edit(automation, per_system("edited", "s2"))
    thread.join(20)
    assert errors == [] and results == []
    assert Run.objects.count() == 0


@pytest.mark.integration  # the PostgreSQL pass only: it probes row locks from a second connection
def test_routing_one_change_among_300_per_system_automations_reads_and_locks_only_its_own(journal):
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")
    system = system_create(name="api", actor="system")
    mine = make_automation(per_system("mine", system.pk))
    for n in range(299):
        make_automation(per_system(f"other-{n}", f"00000000-0000-0000-0000-{n:012d}"))
    health_report(system=system, status="degraded", actor="system")
    change_id = str(ChangeEvent.objects.order_by("-id").first().change_id)
    locked_elsewhere = []

    def probe():
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"SELECT id FROM {Automation._meta.db_table} FOR UPDATE SKIP LOCKED")
                free = {row[0] for row in cursor.fetchall()}
                cursor.execute("ROLLBACK")
            locked_elsewhere.extend(set(Automation.objects.values_list("pk", flat=True)) - free)
        finally:
            connection.close()

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        route_change_event(change_id)
        thread = threading.Thread(target=probe)
        thread.start()
        thread.join(10)

    assert locked_elsewhere == [mine.pk]
    [run] = Run.objects.all()
    assert (run.automation_id, run.status) == (mine.pk, RunStatus.PENDING)
    # The listener read returned one index row, not 300.
    [stage1] = [q["sql"] for q in queries.captured_queries if "automation_automationtrigger" in q["sql"]
                and q["sql"].lstrip().upper().startswith("SELECT")]
    assert "index_key" in stage1
    with connection.cursor() as cursor:
        cursor.execute(stage1.replace("SELECT ", "SELECT count(*) FROM (SELECT ", 1) + ") AS listeners")
        assert cursor.fetchone()[0] == 1


def test_the_admin_page_shows_each_trigger_with_its_index_key_and_filter_errors(journal, admin_client):
    automation = make_automation({"name": "broken", "triggers": [
        {"event": EVENT, "filter": "trigger.payload.system_id == 's1' and trigger.payload.n + 1 > 0"}],
        "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    route({"system_id": "s1", "n": "text"})
    html = admin_client.get(f"/admin/automation/automation/{automation.pk}/change/").content.decode()
    assert "eq:system_id:s1" in html
    assert "can only concatenate str" in html
    assert AutomationTrigger.objects.get(automation=automation).filter_errors == 1
