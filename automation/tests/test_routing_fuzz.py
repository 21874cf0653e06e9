"""Random valid documents × random payloads, routed through the real pipeline on PostgreSQL (docs/operations.md, Parked
changes): routing never raises, no change is left unrouted and unparked, and the entity's next change still routes and
starts its runs. PostgreSQL only: SQLite ignores column lengths, where most of what this finds would hide."""

import uuid

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from automation.documents.validate import validate_document
from automation.entities.delivery import route_change_event
from automation.models import ChangeEvent, Mode, Run, RunStatus
from automation.services.automations import automation_create, automation_delete
from automation.tests.engine_support import runner_user
from catalog.services import health_report, system_create, system_update

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

EVENTS = ["healthcheck.system_health_changed", "healthcheck.system_degraded", "incident.created",
          "incident.resolved"]
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40)
LONG = st.one_of(TEXT, st.integers(190, 3000).map(lambda n: "é" * n), st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=200, max_size=2000))


def quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# A small grammar of expressions on the payload: comparisons, membership, methods, and paths that fail.
EXPRESSIONS = st.one_of(
    TEXT.map(lambda t: f"trigger.payload.message == {quoted(t)}"),
    TEXT.map(lambda t: f"{quoted(t)} in trigger.payload.message"),
    TEXT.map(lambda t: f"trigger.payload.message.startswith({quoted(t)})"),
    st.integers(0, 5000).map(lambda n: f"trigger.payload.message | length > {n}"),
    st.sampled_from(["trigger.payload.status == 'degraded'", "trigger.payload.missing.deeper == 1",
                     "trigger.payload.message.format() == 'x'", "trigger.payload.message * 2 != ''"]),
)


@st.composite
def triggers(draw, n: int):
    trigger = {"id": f"t{n}", "event": draw(st.sampled_from(EVENTS))}
    if draw(st.booleans()):
        trigger["filter"] = draw(EXPRESSIONS)
    if draw(st.booleans()):
        trigger["window"] = {"count": draw(st.integers(1, 3)), "minutes": 10,
                             "partition_by": draw(st.sampled_from(["trigger.payload.message",
                                                                   "trigger.payload.system_id",
                                                                   "trigger.payload.missing"]))}
    if draw(st.booleans()):
        trigger["for"] = {"seconds": draw(st.integers(1, 600))}
    return trigger


@st.composite
def documents(draw):
    return {
        "name": f"fuzz-{uuid.uuid4().hex[:12]}",
        "mode": draw(st.sampled_from(Mode.values)),
        "triggers": [draw(triggers(n)) for n in range(draw(st.integers(1, 2)))],
        "conditions": draw(st.lists(EXPRESSIONS, max_size=2)),
        "actions": [draw(st.sampled_from([{"action": "automation.log", "config": {"message": "{{ trigger.payload }}"}},
                                           {"action": "automation.log", "config": {"message": "x"}}]))],
    }


def deep(depth: int, leaf):
    value = leaf
    for level in range(depth):
        value = {f"k{level}": value} if level % 2 else [value]
    return value


METADATA = st.one_of(
    st.dictionaries(TEXT, st.one_of(LONG, st.integers(), st.none()), max_size=5),
    st.builds(lambda depth, leaf: {"deep": deep(depth, leaf)}, st.integers(1, 300), LONG),
)


def valid(document: dict) -> dict | None:
    result = validate_document(document)
    return result.document if not result.errors else None


def route_all(system) -> None:
    for change_id in ChangeEvent.objects.filter(entity_id=str(system.pk), routed_at=None, parked_at=None) \
            .order_by("id").values_list("change_id", flat=True):
        route_change_event(str(change_id))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(docs=st.lists(documents(), min_size=1, max_size=3), status=st.sampled_from(["degraded", "unhealthy", "healthy"]),
       message=LONG, metadata=METADATA)
def test_random_documents_and_payloads_never_stop_an_entitys_routing(docs, status, message, metadata):
    docs = [d for d in map(valid, docs) if d is not None]
    assume(docs)
    user = runner_user()
    # Given random valid automations and a control without filter on the same event
    automations = [automation_create(document=d, actor="user:test", run_as=user) for d in docs]
    control = automation_create(document=valid({
        "name": f"control-{uuid.uuid4().hex[:8]}", "mode": "parallel",
        "triggers": [{"event": "healthcheck.system_health_changed"}],
        "actions": [{"action": "automation.log", "config": {"message": "control"}}]}), actor="user:test", run_as=user)
    automations.append(control)
    system = system_create(name=f"fuzz-{uuid.uuid4().hex[:12]}", actor="system")
    try:
        # When random payloads are written through the domain services and routed in-process
        health_report(system=system, status=status, message=message, actor="system")
        system_update(system=system, metadata=metadata, actor="system")
        route_all(system)  # never raises

        # Then no change of the system is left unrouted and unparked
        assert not ChangeEvent.objects.filter(entity_id=str(system.pk), routed_at=None, parked_at=None).exists()
        # and its next change still routes and starts the control's run
        health_report(system=system, status="healthy" if status != "healthy" else "degraded", message="next",
                      actor="system")
        route_all(system)
        following = ChangeEvent.objects.filter(kind="health", entity_id=str(system.pk)).order_by("-id").first()
        assert following.routed_at is not None
        run = Run.objects.get(automation=control, firing_key=str(following.change_id))
        assert run.status != RunStatus.SKIPPED, run.reason
    finally:
        for automation in automations:
            automation_delete(automation=automation, actor="user:test")
