"""Hand-written SQL lives in automation/sql/ only, behind named operations that take values; each of its
statements decides and writes exactly what the equivalent ORM code would, on SQLite and PostgreSQL; the models
its fast writers write bypass nothing (no custom save(), no signal receivers)."""

import ast
import pathlib
import uuid
from datetime import timedelta

import pytest
from django.db import models, transaction
from django.db.models import Count, Q
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from automation.models import (
    ACTIVE_STATUSES,
    Automation,
    AutomationTrigger,
    ChangeEvent,
    Dwell,
    Run,
    RunStatus,
    RunStep,
    Transition,
    Wait,
    WaitRead,
)
from automation.sql import changes, firing, runs
from automation.sql.rows import FAST_WRITTEN, insert_instances
from automation.tests.engine_support import make_automation

ROOT = pathlib.Path(__file__).resolve().parents[2]
FENCE = "automation/sql/"
# Statements outside the fence, each for a reason the fence cannot serve: another app's own reporting
# queries, the health probe, the embedded broker's own SQLite file.
ALLOWED = {
    "checks/rollups.py",  # the roll-up upsert of check results (checks' own table)
    "checks/uptime.py",  # uptime over a period, one aggregate statement
    "checkstack/health.py",  # SELECT 1
    "checkstack/embedded_broker.py",  # sqlite3 on the broker's own file, not Django's database
}
SKIPPED_DIRS = {".venv", "node_modules", "tests", "migrations", "bench", "testing", ".git", "seeds"}
# The fence's mechanics that take or return SQL fragments: only the fence's own operations may call them.
FRAGMENT_TAKERS = {"lock_rows", "read_with_related", "insert_guarded", "insert_sql", "update_sql_params"}


def _receiver_text(node: ast.AST) -> str:
    return ast.unparse(node).lower()


def statements_in(source: str) -> list[str]:
    """The raw-SQL calls in this source: `.cursor()`, `.execute()`/`.executemany()` on a connection or
    cursor (or given SQL text), `.raw()`, `.extra()`, `RawSQL(...)`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "RawSQL":
            found.append(ast.unparse(node)[:80])
        if not isinstance(func, ast.Attribute):
            continue
        if func.attr in {"cursor", "raw", "extra"} or (func.attr == "RawSQL"):
            found.append(ast.unparse(node)[:80])
        elif func.attr in {"execute", "executemany"}:
            receiver = _receiver_text(func.value)
            sql_arg = node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp))
            if sql_arg or any(word in receiver for word in ("cursor", "conn", "db")):
                found.append(ast.unparse(node)[:80])
    return found


def production_files():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if not SKIPPED_DIRS.intersection(rel.parts):
            yield rel.as_posix(), path


def test_hand_written_sql_lives_only_in_the_fence_and_the_allow_list():
    scanned, outside = 0, {}
    for rel, path in production_files():
        found = statements_in(path.read_text())
        scanned += bool(found)
        if found and not rel.startswith(FENCE) and rel not in ALLOWED:
            outside[rel] = found
    assert outside == {}
    assert scanned >= 4  # it saw the fence's own statements


def test_the_rule_sees_a_planted_statement_and_leaves_an_action_alone():
    planted = ("from django.db import connection\n"
               "def f(definition, conn):\n"
               "    with connection.cursor() as cursor:\n"
               "        cursor.execute('SELECT 1')\n"
               "    conn.execute('x')\n"
               "    Run.objects.raw('SELECT 1')\n"
               "    return definition.execute(config, consumed, context)\n")
    assert len(statements_in(planted)) == 4


def fragment_imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "rows":
            names |= {alias.name for alias in node.names} & FRAGMENT_TAKERS
        if isinstance(node, ast.Attribute) and node.attr in FRAGMENT_TAKERS:
            names.add(node.attr)
    return names


def test_callers_outside_the_fence_pass_values_never_sql_fragments():
    outside = {rel: found for rel, path in production_files()
               if not rel.startswith(FENCE) and (found := fragment_imports(path.read_text()))}
    assert outside == {}
    assert fragment_imports((ROOT / "automation/sql/firing.py").read_text()) == {"read_with_related"}
    assert fragment_imports("from ..sql.rows import lock_rows, update_instance\n") == {"lock_rows"}


def bypasses(model) -> list[str]:
    """What would make a write that skips save() and the signals differ from the ORM's."""
    found = [f"{model.__name__}.{name}" for name in ("save", "delete", "save_base")
             if getattr(model, name) is not getattr(models.Model, name)]
    found += [f"{signal_name} receiver on {model.__name__}" for signal_name, signal in
              (("pre_save", pre_save), ("post_save", post_save), ("pre_delete", pre_delete),
               ("post_delete", post_delete)) if signal.has_listeners(model)]
    return found


def test_the_models_the_fast_writers_write_have_no_custom_save_and_no_signals():
    assert {model.__name__ for model in FAST_WRITTEN} == {
        "ChangeEvent", "DerivedTriggerEvent", "Run", "RunBranch", "RunStep", "Transition"}
    assert [b for model in FAST_WRITTEN for b in bypasses(model)] == []


def test_the_bypass_check_sees_a_receiver_and_a_custom_save():
    def receiver(**kwargs):
        pass

    post_save.connect(receiver, sender=Run, weak=False)
    try:
        assert bypasses(Run) == ["post_save receiver on Run"]
    finally:
        post_save.disconnect(receiver, sender=Run)
    assert bypasses(Automation)[0] == "Automation.save"  # a tracked model re-enters the mutation service


def test_a_model_outside_the_list_is_refused_by_the_fast_writers():
    from automation.sql.rows import update_instance

    with pytest.raises(TypeError, match="Dwell is not written by the fence"):
        update_instance(Dwell(pk=1), ("deadline",))


# ---- equivalence with the ORM, on both databases ----

equivalence = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def automation_doc(name="a", event="automation.manual"):
    return {"name": name, "triggers": [{"event": event}], "actions": [{"action": "test.note", "config": {"text": "x"}}]}


def a_run(automation, *, firing_key, bucket=None, status=RunStatus.PENDING):
    return Run(automation=automation, automation_version=1, document=automation.document, trigger_id="t",
               event="automation.manual", payload={}, actor="system", context_key="c", firing_key=firing_key,
               bucket=bucket or str(automation.pk), status=status)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_change_written_by_the_fence_reads_back_as_the_orm_writes_it():
    now = timezone.now()
    event = dict(change_id=uuid.uuid4(), kind="system", entity_id="e1", prev={"a": 1}, next={"a": [2, None]},
                 delta={"a": {"from": 1, "to": [2, None]}}, changed_fields=["a"], actor="user:x", depth=2,
                 occurred_at=now)
    transitions = [dict(kind="system", entity_id="e1", field="a", from_value=1, to_value=[2, None], at=now,
                        actor="user:x", change_id=event["change_id"])]
    written = changes.write_change(event, transitions)
    by_orm = ChangeEvent.objects.create(**{**event, "change_id": uuid.uuid4()})
    Transition.objects.create(**{**transitions[0], "change_id": by_orm.change_id})

    fields = [f for f in changes.EVENT_COLUMNS if f != "change_id"] + ["routed_at", "parked_at", "routing_attempts"]
    assert written.pk == ChangeEvent.objects.get(change_id=event["change_id"]).pk
    assert ChangeEvent.objects.filter(pk=written.pk).values(*fields).get() == \
        ChangeEvent.objects.filter(pk=by_orm.pk).values(*fields).get()
    columns = [f for f in changes.TRANSITION_COLUMNS if f != "change_id"]
    assert Transition.objects.filter(change_id=event["change_id"]).values(*columns).get() == \
        Transition.objects.filter(change_id=by_orm.change_id).values(*columns).get()


def entity_log(kind="system", entity_id="e1", n=4):
    """`n` unrouted change events of one entity (and one of another entity between them), oldest first."""
    rows = []
    for index in range(n):
        rows.append(ChangeEvent.objects.create(change_id=uuid.uuid4(), kind=kind, entity_id=entity_id, prev={},
                                               next={"i": index}, delta={}, changed_fields=[], actor="x", depth=0,
                                               occurred_at=timezone.now()))
        ChangeEvent.objects.create(change_id=uuid.uuid4(), kind=kind, entity_id="other", prev={}, next={}, delta={},
                                   changed_fields=[], actor="x", depth=0, occurred_at=timezone.now())
    return rows


def orm_unrouted_up_to(event):
    return list(ChangeEvent.objects.filter(kind=event.kind, entity_id=event.entity_id, id__lte=event.id,
                                           routed_at=None, parked_at=None).order_by("id"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_unrouted_events_locked_are_those_the_orm_selects():
    rows = entity_log()
    ChangeEvent.objects.filter(pk=rows[0].pk).update(routed_at=timezone.now())
    ChangeEvent.objects.filter(pk=rows[1].pk).update(parked_at=timezone.now())
    for target in rows:
        with transaction.atomic():
            locked = changes.changes_lock_unrouted_up_to(change_id=str(target.change_id))
        assert [(e.pk, e.next) for e in locked] == [(e.pk, e.next) for e in orm_unrouted_up_to(target)]
    assert changes.changes_lock_unrouted_up_to(change_id="not-a-uuid") == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_an_attempt_is_counted_on_the_head_the_orm_finds():
    rows = entity_log()
    ChangeEvent.objects.filter(pk=rows[0].pk).update(routed_at=timezone.now())
    now = timezone.now()
    head = orm_unrouted_up_to(rows[3])[0]

    counted = changes.change_attempt_count(change_id=rows[3].change_id, now=now)

    assert (counted.pk, counted.change_id, counted.routing_attempts) == (head.pk, head.change_id, 1)
    assert ChangeEvent.objects.filter(routing_attempts__gt=0).values_list("pk", "routing_attempts",
                                                                          "first_attempted_at").get() == \
        (head.pk, 1, now)
    again = changes.change_attempt_count(change_id=rows[2].change_id, now=now + timedelta(seconds=5))
    assert (again.pk, again.routing_attempts, again.first_attempted_at) == (head.pk, 2, now)  # first time kept
    ChangeEvent.objects.filter(pk__in=[r.pk for r in rows]).update(routed_at=now)
    assert changes.change_attempt_count(change_id=rows[3].change_id, now=now) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_bucket_counts_equal_the_orm_aggregate(journal):
    automation = make_automation(automation_doc())
    statuses = [RunStatus.PENDING, RunStatus.PENDING, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.SUCCEEDED,
                RunStatus.SKIPPED]
    insert_instances([a_run(automation, firing_key=f"k{i}", status=s) for i, s in enumerate(statuses)]
                     + [a_run(automation, firing_key="other", bucket="other", status=RunStatus.PENDING)])
    for bucket in (str(automation.pk), "other", "empty"):
        orm = Run.objects.filter(bucket=bucket, status__in=ACTIVE_STATUSES).aggregate(
            active=Count("id"), pending=Count("id", filter=Q(status=RunStatus.PENDING)))
        assert runs.bucket_counts(bucket=bucket) == (orm["active"], orm["pending"])
    assert runs.bucket_counts(bucket=str(automation.pk)) == (4, 2)


def fenced_orm(run_id, token, lease_after) -> bool:
    return Run.objects.filter(pk=run_id, fencing_token=token, status=RunStatus.RUNNING,
                              lease_expires_at__gt=lease_after).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_fenced_insert_and_finish_decide_as_the_orm_fence(journal):
    automation = make_automation(automation_doc())
    now = timezone.now()
    [run] = insert_instances([a_run(automation, firing_key="k", status=RunStatus.RUNNING)])
    Run.objects.filter(pk=run.pk).update(fencing_token=3, lease_expires_at=now + timedelta(seconds=60))
    cases = [(3, now), (4, now), (3, now + timedelta(seconds=120))]
    for index, (token, lease_after) in enumerate(cases):
        step = RunStep(run=run, path=f"actions.{index}", iteration="", kind="action", attempts=1, status="running",
                       started_at=now)
        expected = fenced_orm(run.pk, token, lease_after)
        assert runs.run_row_insert_fenced(row=step, run_id=str(run.pk), token=token, lease_after=lease_after) \
            is expected
        assert RunStep.objects.filter(run=run, path=f"actions.{index}").exists() is expected
    assert runs.run_succeed_fenced(run_id=str(run.pk), token=4, finished_at=now) is None
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING
    assert runs.run_succeed_fenced(run_id=str(run.pk), token=3, finished_at=now) == str(automation.pk)
    assert Run.objects.filter(pk=run.pk).values("status", "error", "reason", "finished_at", "lease_owner",
                                                "lease_expires_at").get() == dict(
        status=RunStatus.SUCCEEDED, error="", reason="", finished_at=now, lease_owner="", lease_expires_at=None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_finish_with_its_last_step_writes_the_step_as_the_orm_only_when_the_fence_holds(journal):
    automation = make_automation(automation_doc())
    now = timezone.now()
    [run] = insert_instances([a_run(automation, firing_key="k", status=RunStatus.RUNNING)])
    Run.objects.filter(pk=run.pk).update(fencing_token=3, lease_expires_at=now + timedelta(seconds=60))
    [step, twin] = insert_instances([
        RunStep(run=run, path=f"actions.{i}", iteration="", kind="action", attempts=1, status="running",
                started_at=now) for i in range(2)])
    outcome = dict(status="succeeded", result={"message": "done", "n": [1, 2]}, finished_at=now)
    for name, value in outcome.items():
        setattr(step, name, value)

    # A lost fence writes neither the run nor the step
    assert runs.run_succeed_fenced(run_id=str(run.pk), token=4, finished_at=now, step=step) is None
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING
    assert RunStep.objects.get(pk=step.pk).status == "running"
    # A holding one ends the run and stores the step's outcome exactly as the ORM's save would
    assert runs.run_succeed_fenced(run_id=str(run.pk), token=3, finished_at=now, step=step) == str(automation.pk)
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
    for name, value in outcome.items():
        setattr(twin, name, value)
    twin.save(update_fields=list(outcome))
    fields = ("status", "result", "finished_at", "attempts", "started_at")
    assert RunStep.objects.filter(pk=step.pk).values(*fields).get() == \
        RunStep.objects.filter(pk=twin.pk).values(*fields).get()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_trigger_rows_read_and_the_automations_locked_are_the_orms(journal):
    made = [make_automation(automation_doc(f"a{i}")) for i in range(3)]
    AutomationTrigger.objects.filter(automation=made[1]).update(index_key="system_id=s1", index_field="system_id")
    AutomationTrigger.objects.filter(automation=made[2]).update(enabled=False)
    for keys in ([], ["system_id=s1"], ["system_id"], ["nothing"]):
        read = firing.trigger_rows_matching(events=["automation.manual"], keys=keys)
        orm = AutomationTrigger.objects.filter(
            Q(index_key=None) | Q(index_key__in=keys) | Q(index_field__in=keys), enabled=True,
            event__in=["automation.manual"]).select_related("automation").order_by("automation_id", "id")
        assert [(r.pk, r.automation.document) for r in read] == [(r.pk, r.automation.document) for r in orm]
    with transaction.atomic():
        locked = firing.automations_lock(pks=[m.pk for m in reversed(made)])
    orm = Automation.objects.filter(pk__in=[m.pk for m in made]).select_related("run_as").order_by("pk")
    assert [(a.pk, a.version, a.run_as_id, a.run_as.pk) for a in locked] == \
        [(a.pk, a.version, a.run_as_id, a.run_as.pk) for a in orm]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_waiting_on_flags_are_the_orms_exists(journal):
    automation = make_automation(automation_doc())
    [run] = insert_instances([a_run(automation, firing_key="k", status=RunStatus.WAITING)])
    wait = Wait.objects.create(run=run, path="actions.0", iteration="", kind=Wait.Kind.TRIGGER, event="e.one")
    WaitRead.objects.create(wait=wait, kind="system", entity_id="s1")
    Dwell.objects.create(automation=automation, trigger_id="t", context_key="s2", event="e", payload={}, actor="x",
                         depth=0, armed_at=timezone.now(), armed_after_change=0, deadline=timezone.now())
    for kind, entity_id, events in [("system", "s1", []), ("system", "s2", ["e.one"]), ("health", "s1", ["e.two"]),
                                    ("system", "s3", ["e.one", "e.two"])]:
        orm = (WaitRead.objects.filter(kind=kind, entity_id=entity_id).exists(),
               Dwell.objects.filter(context_key=entity_id).exists(),
               bool(events) and Wait.objects.filter(kind=Wait.Kind.TRIGGER, outcome__isnull=True,
                                                    event__in=events).exists())
        assert firing.waiting_on_flags(kind=kind, entity_id=entity_id, events=events) == orm


def _explain_generic(cursor, sql: str, args: list, types: list[str], name: str) -> str:
    """EXPLAIN of `sql` as a prepared statement's generic plan (what psycopg's prepared statements run)."""
    count = sql.count("%s")
    for number in range(1, count + 1):
        sql = sql.replace("%s", f"${number}", 1)
    cursor.execute(f"PREPARE {name}({', '.join(types)}) AS {sql}")
    literals = ", ".join(f"'{value}'::{kind}" for value, kind in zip(args, types, strict=True))  # our own values
    cursor.execute(f"EXPLAIN EXECUTE {name}({literals})")
    return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_routing_statements_read_the_entity_index_whatever_the_statistics():
    """Issue 33: statistics taken when every change was routed made change_unrouted look empty, and the
    cached generic plan read it whole for every attempt. The head is read by the entity's unrouted entries,
    and neither statement can fall back on the primary key's order or on change_unrouted."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    event = {"kind": "system", "prev": {}, "next": {}, "delta": {}, "changed_fields": [], "actor": "x", "depth": 0}
    now = timezone.now()
    ChangeEvent.objects.bulk_create([ChangeEvent(change_id=uuid.uuid4(), entity_id=str(i % 5), occurred_at=now,
                                                 routed_at=now, **event) for i in range(500)])
    table = ChangeEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")  # the statistics say: nothing unrouted
    ChangeEvent.objects.bulk_create([ChangeEvent(change_id=uuid.uuid4(), entity_id=str(i % 5), occurred_at=now,
                                                 **event) for i in range(3000)])
    target = str(ChangeEvent.objects.filter(routed_at=None).order_by("id").first().change_id)
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            counting = _explain_generic(cursor, changes.count_sql(async_commit=False), [now] + [target] * 3,
                                        ["timestamptz"] + ["uuid"] * 3, "c33")
            locking = _explain_generic(cursor, f"SELECT t.id FROM {table} t WHERE "
                                       f"{changes.lock_unrouted_where(table)} ORDER BY t.id FOR NO KEY UPDATE OF t",
                                       [target] * 3, ["uuid"] * 3, "l33")
        finally:
            cursor.execute("DEALLOCATE ALL")
            cursor.execute("RESET plan_cache_mode")
    for plan in (counting, locking):
        assert "change_entity_unrouted" in plan, plan
        assert "change_unrouted" not in plan, plan
    # The counted row itself is found by its primary key, not by scanning a partial index for its id.
    assert f"{table}_pkey" in counting, counting
