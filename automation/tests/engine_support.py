"""Test actions and helpers for engine tests: a registry restored after each test, runs driven in-process."""

import copy
import logging
from contextlib import contextmanager
from unittest import mock

from pydantic import BaseModel, ConfigDict

from automation.definitions import ActionDefinition, ActionOutcome, ArtifactType, definitions
from automation.documents.validate import validate_document
from automation.engine.runs.runner import run_advance
from automation.models import Run, RunStatus
from automation.services.automations import automation_create


class NoteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = ""
    thing_id: str | None = None
    fail: bool = False


class Journal:
    """What the test actions did, in order."""

    def __init__(self):
        self.entries = []

    def texts(self):
        return [text for _action, text, _consumed in self.entries]


def registered_test_actions():
    """Register test actions (`test.note`, `test.make_thing`, `test.use_thing`, `test.close_thing`) until closed.

    The `journal` fixture (automation/tests/conftest.py) yields from it.
    """
    saved = copy.copy(definitions.actions), copy.copy(definitions.artifact_types)
    log = Journal()

    def note(config, consumed, context):
        log.entries.append(("note", config.text, consumed))
        logging.getLogger("checkstack.automation").info("note: %s", config.text)
        if config.fail:
            return ActionOutcome.fail(f"told to fail: {config.text}")
        return ActionOutcome.ok(result={"text": config.text})

    def make_thing(config, consumed, context):
        log.entries.append(("make", config.text, consumed))
        return ActionOutcome.ok(artifact={"thing_id": config.text or context.step_path})

    def use_thing(config, consumed, context):
        thing = config.thing_id or (consumed.get("thing") or {}).get("thing_id")
        log.entries.append(("use", thing, consumed))
        if thing is None:
            return ActionOutcome.fail("no thing given and no upstream thing artifact found")
        return ActionOutcome.ok(result={"thing_id": thing})

    definitions.artifact_types["thing"] = ArtifactType(id="thing", description="a test thing")
    for action_id, fn, extra in [
        # `text` may carry a secret, so tests can watch a resolved value reach an action and its records.
        ("test.note", note, {"secret_fields": ("text",)}),
        ("test.make_thing", make_thing, {"produces": "thing"}),
        ("test.use_thing", use_thing, {"consumes": ("thing",)}),
        ("test.close_thing", use_thing, {"consumes": ("thing",), "closes_consumed": True}),
    ]:
        definitions.actions[action_id] = ActionDefinition(
            id=action_id, description=action_id, config_schema=NoteConfig, execute=fn, **extra
        )
    yield log
    definitions.actions, definitions.artifact_types = saved


def runner_user():
    """A superuser for engine tests' automations: an automation without run_as does not run."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(
        username="engine-runner", defaults={"is_superuser": True, "is_staff": True})
    return user


def make_automation(document: dict, **kwargs):
    result = validate_document(document)
    assert result.errors == [], result.errors
    kwargs.setdefault("run_as", runner_user())
    return automation_create(document=result.document, actor="user:test", **kwargs)


def drain_runs(limit: int = 100) -> None:
    """Advance every run that can move until none does (what workers would do)."""
    for _ in range(limit):
        moved = False
        for run_id in Run.objects.filter(status=RunStatus.PENDING).order_by("created_at").values_list("pk", flat=True):
            moved |= run_advance(run_id=run_id) is not None
        if not moved:
            return


@contextmanager
def clock(start):
    """timezone.now() under the test's control: yields `advance(timedelta)`."""
    state = {"now": start}

    def advance(delta):
        state["now"] += delta

    with mock.patch("django.utils.timezone.now", lambda: state["now"]):
        yield advance


@contextmanager
def actions_registered(register):
    """Run `register()` (it adds test actions) and restore the action registry afterwards."""
    saved = dict(definitions.actions)
    register()
    try:
        yield
    finally:
        definitions.actions.clear()
        definitions.actions.update(saved)


def touch_concurrently(system, count: int) -> list[Exception]:
    """`count` threads each updating the system's description at once; the errors they met."""
    import threading

    from django.db import connection

    from catalog.models import System
    from catalog.services import system_update

    errors = []

    def touch(n):
        try:
            system_update(system=System.objects.get(pk=system.pk), description=f"d{n}", actor="system")
        except Exception as exc:  # noqa: BLE001 - returned to the test, which asserts on them
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=touch, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def drain_branches(limit: int = 100) -> list:
    """Advance every branch that can move, oldest first, until none does (what workers would do); the ids
    advanced, in order."""
    from automation.engine.branches.runner import branch_advance
    from automation.models import BranchStatus, RunBranch

    advanced = []
    for _ in range(limit):
        moved = False
        for branch_id in RunBranch.objects.filter(status=BranchStatus.PENDING).order_by("id").values_list("pk",
                                                                                                          flat=True):
            if branch_advance(branch_id=branch_id) is not None:
                moved = True
                advanced.append(branch_id)
        if not moved:
            return advanced
    return advanced
