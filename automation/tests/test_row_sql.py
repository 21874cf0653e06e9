"""The hot paths' hand-written statements store and read rows exactly as the ORM does."""

import uuid

import pytest
from django.db import transaction

from automation.models import ChangeEvent, DerivedTriggerEvent, Run, RunStatus
from automation.sql.rows import insert_instances, lock_row, lock_rows, read_with_related, update_instance
from automation.tests.engine_support import make_automation
from catalog.services import system_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def a_run(automation, firing_key="change-1"):
    return Run(automation=automation, automation_version=1, document=automation.document, trigger_id="t",
               event="automation.manual", payload={"n": 1, "nested": {"ok": True}}, actor="system",
               context_key="c", firing_key=firing_key, bucket=str(automation.pk))


def test_inserted_rows_read_back_through_the_orm_as_written(journal):
    system_create(name="api", actor="system")
    change = ChangeEvent.objects.get()
    rows = insert_instances([DerivedTriggerEvent(change=change, event=e, payload={"e": e, "n": [1, 2]},
                                                 context_key=None) for e in ("a.one", "a.two")])
    assert [r.pk for r in rows] == list(DerivedTriggerEvent.objects.order_by("id").values_list("id", flat=True))
    stored = DerivedTriggerEvent.objects.get(pk=rows[1].pk)
    assert (stored.event, stored.payload, stored.context_key) == ("a.two", {"e": "a.two", "n": [1, 2]}, None)
    assert stored.created_at == rows[1].created_at  # auto_now_add filled in as save() would


def test_a_row_a_unique_constraint_refuses_is_skipped_and_not_returned(journal):
    automation = make_automation({"name": "a", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    [first] = insert_instances([a_run(automation)], skip_conflicts=True)
    assert insert_instances([a_run(automation)], skip_conflicts=True) == []  # same (automation, firing, trigger)
    assert list(Run.objects.values_list("pk", flat=True)) == [first.pk]
    stored = Run.objects.get()
    assert (stored.status, stored.payload, stored.fencing_token) == (RunStatus.PENDING, {"n": 1,
                                                                                         "nested": {"ok": True}}, 0)
    with pytest.raises(AssertionError):  # auto ids could not be matched to rows once some were skipped
        insert_instances([DerivedTriggerEvent(change_id=1, event="x")], skip_conflicts=True)


def test_lock_row_reads_the_fields_asked_for_and_defers_the_rest(journal):
    automation = make_automation({"name": "a", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    [run] = insert_instances([a_run(automation)])
    with transaction.atomic():
        locked = lock_row(Run, run.pk, fields=("status", "bucket"))
        assert (locked.pk, locked.status, locked.bucket) == (run.pk, RunStatus.PENDING, str(automation.pk))
        assert {"document", "payload", "fencing_token"} <= locked.get_deferred_fields()
        assert lock_row(Run, uuid.uuid4()) is None
        assert lock_row(Run, "not-a-uuid") is None
        whole = lock_row(Run, str(run.pk))
        assert whole.payload == {"n": 1, "nested": {"ok": True}} and not whole.get_deferred_fields()


def test_lock_rows_returns_the_matching_rows_in_order(journal):
    for name in ("b", "a", "c"):
        system_create(name=name, actor="system")
    with transaction.atomic():
        rows = lock_rows(ChangeEvent, "t.kind = %s", ["system"], order_by="t.id DESC")
    assert [r.pk for r in rows] == list(ChangeEvent.objects.filter(kind="system").order_by("-id")
                                        .values_list("pk", flat=True))
    assert [r.next["name"] for r in rows] == ["c", "a", "b"]


def test_update_instance_writes_only_the_named_fields_as_save_would(journal):
    automation = make_automation({"name": "a", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    [run] = insert_instances([a_run(automation)])
    Run.objects.filter(pk=run.pk).update(reason="set elsewhere")  # not in the instance: must survive
    run.status, run.payload, run.actor = RunStatus.RUNNING, {"n": 2, "list": [1, None]}, "not written"

    update_instance(run, ("status", "payload"))

    stored = Run.objects.get(pk=run.pk)
    assert (stored.status, stored.payload) == (RunStatus.RUNNING, {"n": 2, "list": [1, None]})
    assert (stored.actor, stored.reason) == ("system", "set elsewhere")


def test_a_step_row_is_inserted_fenced_only_while_the_claim_holds_half_its_lease(journal):
    from datetime import timedelta

    from django.utils import timezone

    from automation.engine.runs.claims import insert_fenced, run_claim
    from automation.engine.runs.leases import Claim
    from automation.models import RunStep

    automation = make_automation({"name": "a", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    [run] = insert_instances([a_run(automation)])
    claim = run_claim(run_id=run.pk)

    def step(path):
        return RunStep(run=run, path=path, iteration="", kind="action", attempts=1, status="running",
                       started_at=timezone.now())

    # A held claim inserts; a stale token does not
    assert insert_fenced(claim, step("actions.0"))
    assert not insert_fenced(Claim(run_id=claim.run_id, token=claim.token + 1), step("actions.1"))
    # Less than half of the lease left: nothing written, the caller takes the locked path that renews it
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=1))
    assert not insert_fenced(claim, step("actions.2"))
    assert list(RunStep.objects.values_list("path", "attempts")) == [("actions.0", 1)]


def test_read_with_related_reads_the_related_row_in_the_same_statement(journal, django_assert_num_queries):
    from automation.models import Automation

    with_user = make_automation({"name": "a", "triggers": [{"event": "automation.manual"}],
                                 "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    without = make_automation({"name": "b", "triggers": [{"event": "automation.manual"}],
                               "actions": [{"action": "test.note", "config": {"text": "x"}}]}, run_as=None)

    with transaction.atomic(), django_assert_num_queries(1):
        rows = read_with_related(Automation, "run_as", "t.name IN (%s, %s)", ["a", "b"], order_by="t.name",
                                 lock=True, no_key=True)
        users = [row.run_as for row in rows]

    assert [row.pk for row in rows] == [with_user.pk, without.pk]
    assert users[0].pk == with_user.run_as_id and users[0].get_username() and users[1] is None
    assert rows[0].document == with_user.document and rows[0].version == with_user.version
