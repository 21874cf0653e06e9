"""Stage 1 and 2: which automations an event reaches, the gates, and one run per firing."""

import pytest

from automation.engine.firing.routing import route_trigger_event
from automation.models import Run, RunStatus
from automation.services.automations import automation_set_enabled
from automation.tests.engine_support import make_automation
from catalog.services import health_report, system_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def row_counts():
    from django.apps import apps

    return {model.__name__: model._base_manager.count() for model in apps.get_models()}


def doc(name, event="healthcheck.system_degraded", **extra):
    return {"name": name, "triggers": [{"event": event, **extra.pop("trigger", {})}],
            "actions": [{"action": "test.note", "config": {"text": name}}], **extra}


def route(event="healthcheck.system_degraded", payload=None, key="c1", context="sys-1", depth=0):
    return route_trigger_event(event=event, payload=payload or {"system_id": context, "new_status": "degraded"},
                               context_key=context, firing_key=key, actor="system", depth=depth)


def test_event_fans_out_to_every_listening_automation_and_no_other(journal):
    a = make_automation(doc("a"))
    b = make_automation(doc("b"))
    make_automation(doc("other", event="incident.created"))

    runs = route()

    assert sorted(r.automation_id for r in runs) == sorted([a.pk, b.pk])
    assert {r.status for r in runs} == {RunStatus.PENDING}
    assert {r.trigger_id for r in runs} == {"healthcheck_system_degraded"}


def test_disabled_automation_gets_nothing(journal):
    a = make_automation(doc("a"))
    automation_set_enabled(automation=a, enabled=False, actor="user:test")

    assert route() == []
    assert Run.objects.count() == 0


def test_same_firing_routed_twice_gives_one_run(journal):
    make_automation(doc("a"))
    first, second = route(key="change-1"), route(key="change-1")
    assert len(first) == 1 and second == []
    assert Run.objects.count() == 1


def test_a_filter_miss_writes_nothing(journal):
    make_automation(doc("a", trigger={"filter": "trigger.payload.new_status == 'unhealthy'"}))
    before = row_counts()
    assert route() == []
    assert row_counts() == before


def test_conditions_false_records_a_skip(journal):
    make_automation(doc("a", conditions=["trigger.payload.system_id == 'nope'"]))
    [run] = route()
    assert (run.status, run.reason) == (RunStatus.SKIPPED, "conditions not met")


def test_too_deep_a_chain_is_recorded_as_an_automation_loop(journal, settings):
    settings.CHECKSTACK_MAX_CHAIN_DEPTH = 3
    make_automation(doc("a"))
    [run] = route(depth=4)
    assert (run.status, run.error) == (RunStatus.SKIPPED, "automation loop")
    assert route(key="c2", depth=3)[0].status == RunStatus.PENDING


def test_a_routed_health_change_starts_runs(journal):
    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent

    make_automation(doc("on-degraded"))
    make_automation(doc("on-healthy", event="healthcheck.system_healthy"))
    system = system_create(name="api", actor="system")
    health_report(system=system, status="degraded", actor="user:ann")

    route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))

    [run] = Run.objects.all()
    assert run.automation.name == "on-degraded"
    assert run.context_key == str(system.pk)
    assert run.actor == "user:ann"
    assert run.payload["new_status"] == "degraded"


def test_routing_task_advances_the_first_run_it_started_and_leaves_the_others_to_messages(journal):
    from automation.engine.runs.runner import route_and_start
    from automation.engine.runs.wakeups import runs_woken_here
    from automation.models import ChangeEvent

    make_automation(doc("first"))
    make_automation(doc("second"))
    system = system_create(name="api", actor="system")
    health_report(system=system, status="degraded", actor="user:ann")

    with runs_woken_here() as sent_as_messages:  # what route_and_start publishes, caught here
        route_and_start(str(ChangeEvent.objects.order_by("-id").first().change_id))

    statuses = dict(Run.objects.values_list("pk", "status"))
    [advanced] = [str(pk) for pk, status in statuses.items() if status == RunStatus.SUCCEEDED]
    [left] = [str(pk) for pk, status in statuses.items() if status == RunStatus.PENDING]
    assert [(w.run_id, w.resume) for w in sent_as_messages] == [(left, False)]
    assert len(journal.entries) == 1 and advanced != left


@pytest.mark.integration  # the PostgreSQL pass only: it probes row locks from a second connection
def test_routing_locks_the_automations_that_fire_together_in_one_order(journal):
    import threading

    from django.db import DatabaseError, connection, transaction

    from automation.engine.firing.listeners import Arrival, firings_of
    from automation.models import Automation

    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")
    a = make_automation(doc("a", event="healthcheck.system_health_changed"))
    b = make_automation(doc("b"))
    probes = []

    def probe(pk):
        try:
            with transaction.atomic():
                Automation.objects.select_for_update(nowait=True).get(pk=pk)
            probes.append("free")
        except DatabaseError:
            probes.append("locked")
        finally:
            connection.close()

    with transaction.atomic():
        # Both passed their (absent) filters on events of one transaction: locked together, in pk order.
        passed = firings_of([Arrival(event="healthcheck.system_degraded", payload={}, actor="system"),
                             Arrival(event="healthcheck.system_health_changed", payload={}, actor="system")])
        assert [[p.automation.pk for p in each] for each in passed] == [[b.pk], [a.pk]]
        for pk in (a.pk, b.pk):
            thread = threading.Thread(target=probe, args=(pk,))
            thread.start()
            thread.join(10)
    assert probes == ["locked", "locked"]


def test_a_one_step_run_takes_two_statements_after_routing_and_ends_with_its_step(journal):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from automation.engine.runs.runner import route_and_start
    from automation.models import ChangeEvent, RunStep

    # Given a one-step automation and a change that fires it
    make_automation(doc("on-degraded"))
    system = system_create(name="api", actor="system")
    health_report(system=system, status="degraded", actor="user:ann")
    change_id = str(ChangeEvent.objects.order_by("-id").first().change_id)

    # When the worker routes the change and walks the run it created claimed
    with CaptureQueriesContext(connection) as queries:
        route_and_start(change_id)

    # Then the run and its step succeeded, the step's outcome and the run's end written together: after
    # routing, one statement starts the step and one (PostgreSQL) finishes both
    run = Run.objects.get()
    step = RunStep.objects.get(run=run)
    assert (run.status, step.status) == (RunStatus.SUCCEEDED, "succeeded")
    assert run.finished_at is not None and run.lease_owner == ""
    statements = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        # The action wrote nothing, so the ending is a statement alone, the last one: its own transaction
        # (the BEGIN and COMMIT Django logs for the action's empty block before it reach no server)
        ends = [sql for sql in statements if 'UPDATE "automation_run"' in sql]
        assert len(ends) == 1 and 'UPDATE "automation_runstep"' in ends[0] and statements[-1] == ends[0]
    else:  # SQLite: two statements, in one transaction
        run_updates = [i for i, sql in enumerate(statements) if sql.startswith('UPDATE "automation_run"')]
        step_updates = [i for i, sql in enumerate(statements) if sql.startswith('UPDATE "automation_runstep"')]
        assert len(run_updates) == 1 and len(step_updates) == 1
        between = statements[run_updates[0]:step_updates[0]]
        assert not [sql for sql in between if sql.split()[0].upper() in {"COMMIT", "BEGIN", "SAVEPOINT"}]


def test_routing_a_change_that_starts_one_run_takes_ten_statements(journal):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent, SubscriptionDelivery

    make_automation(doc("on-degraded"))
    system = system_create(name="api", actor="system")
    health_report(system=system, status="degraded", actor="user:ann")

    change_id = str(ChangeEvent.objects.order_by("-id").first().change_id)
    with CaptureQueriesContext(connection) as queries:
        route_change_event(change_id)

    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    work = [s for s in statements if s not in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "SET"}]
    # Count the attempt on the entity's head (its own committed transaction), lock the entity's unrouted
    # events, read the listeners the index lets through (no lock), lock the automations whose filter passed,
    # then in the event's savepoint: insert its trigger events, probe for waits, count the bucket's active
    # runs, insert the run (in the firing's savepoint), ask whether an enabled channel wants a health change (a
    # health status change is a channel event; with no channel listening no delivery row is written, nor its
    # task and transaction run), mark the event routed.
    assert work == ["UPDATE", "SELECT", "SELECT", "SELECT", "INSERT", "SELECT", "SELECT", "INSERT", "SELECT",
                    "UPDATE"]
    assert not SubscriptionDelivery.objects.exists()
    # Isolation (docs/operations.md, Parked changes): a savepoint for the firing that passed its filter; the
    # event, the head routed alone, needs none (its failure rolls back the whole attempt and is recorded).
    assert statements.count("SAVEPOINT") == 1
    # The attempt is one autocommit statement; on PostgreSQL it commits without waiting for the WAL flush.
    assert statements.count("SET") == 0 and statements.count("BEGIN") <= 1
    attempt_sql = queries.captured_queries[0]["sql"]
    assert ("set_config('synchronous_commit', 'off', true)" in attempt_sql) == (connection.vendor == "postgresql")
    assert Run.objects.get().status == RunStatus.PENDING  # claimed only when the routing task asks


def test_a_change_that_derives_no_trigger_event_routes_without_reading_listeners(journal):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from automation.entities.delivery import route_change_event
    from automation.models import AutomationTrigger, ChangeEvent

    automation = make_automation(doc("on-degraded"))  # its own change (kind automation) derives no event
    change = ChangeEvent.objects.get(kind="automation", entity_id=str(automation.pk))

    with CaptureQueriesContext(connection) as queries:
        result = route_change_event(str(change.change_id))

    assert result.routed == [str(change.change_id)]
    assert not [q for q in queries.captured_queries if AutomationTrigger._meta.db_table in q["sql"]]
