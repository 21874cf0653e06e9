"""The step walker: executes a run's document, recording a row per executed step.

A run may be interrupted at any point (a killed worker, a wait). Walking again replays it: a step whose
row says it finished is not executed again; its recorded result (variables, chosen branch, artifact) is
re-applied instead, so the walk reaches the same place and continues from the step after the last one
completed. Decisions (which branch, how many iterations) are recorded before they are acted on.
"""

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ...expressions.scope import build_scope
from ...masking import mask
from ...models import Run, RunStep, StepStatus
from ...secrets import secret_resolve
from ...sql.rows import insert_instances, update_instance
from ...sql.runs import STEP_OUTCOME
from ...sql.transactions import transaction_begun
from ..branches.forks import branches_fork
from ..firing.gates import TIME_LIMIT_TEXT, SoftTimeLimitExceeded
from ..scope import context_system_id, trigger_scope
from .claims import insert_fenced, locked_run, run_succeed_fenced
from .leases import Claim, LeaseLost, step_budget_seconds
from .outcomes import Forked, StepError, StopRun, Suspend
from .step_paths import CONTAINER_KINDS, step_kind
from .steps import EXECUTORS, REPLAYERS


def _last_action_path(actions: list) -> str | None:
    """The path of the last enabled top-level step if it is an action (a `stop` or `condition` may still end
    the run otherwise, and a container's last child is not the run's last write)."""
    enabled = [index for index, step in enumerate(actions) if step.get("enabled", True)]
    if not enabled or step_kind(actions[enabled[-1]]) != "action":
        return None
    return f"actions.{enabled[-1]}"


def _save_step(row: RunStep, changed: tuple[str, ...]) -> None:
    """Insert a new step row, or write only what changed on a row from an earlier walk."""
    if row.pk is None:
        insert_instances([row])
    else:
        update_instance(row, changed)


@dataclass
class WalkState:
    trigger: dict
    payload: dict
    variables: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)  # step_id -> {type: data}
    artifact_rows: list = field(default_factory=list)  # Artifact rows of this run, oldest first
    assigned: dict = field(default_factory=dict)  # variables set by this cursor's steps (a branch's, for the join)
    resume: dict | None = None
    wait: dict | None = None


class Walker:
    branch = None  # the RunBranch this walker advances (BranchWalker), None for the run itself
    ends_run_at = None  # the run's last top-level step, when an action: its success ends the run with it
    finished = False  # the run was ended with its last step's outcome

    def __init__(self, run: Run, claim: Claim):
        self.run, self.claim = run, claim
        self.memo = {} if claim.first_start else {(s.path, s.iteration): s for s in run.steps.all()}
        self.ends_run_at = _last_action_path(run.document.get("actions", []))
        self.secret_resolver = secret_resolve  # resolved values are masked (see automation.masking)
        self.state = WalkState(
            trigger=trigger_scope(trigger_id=run.trigger_id, event=run.event, actor=run.actor, payload=run.payload),
            payload=run.payload,
        )

    # --- scope ------------------------------------------------------------------------------------------
    def scope(self, *, repeat: dict | None = None, reads=None, now=None) -> dict:
        return build_scope(
            trigger=self.state.trigger,
            variables=self.state.variables,
            artifacts=self.state.artifacts,
            now=now or timezone.now(),
            context_system_id=context_system_id(self.run.payload),
            repeat=repeat,
            resume=self.state.resume,
            wait=self.state.wait,
            reads=reads,
        )

    def lock(self, *, renew: bool = False, starting: bool = False):
        """The cursor's row, locked, if this walker still holds it (LeaseLost otherwise)."""
        return locked_run(self.claim, renew=renew)

    def fork(self, row: RunStep, *, count: int, repeat: dict | None) -> None:
        """Fork this cursor into `count` branches at a `parallel` step, each from the scope as it is now."""
        scope = {"variables": self.state.variables, "artifacts": [a.pk for a in self.state.artifact_rows],
                 "resume": self.state.resume, "wait": self.state.wait, "repeat": repeat}
        with transaction.atomic():
            cursor = self.lock()
            row.status = StepStatus.WAITING
            row.result = {"branches": count}
            row.save(update_fields=["status", "result"])
            branches_fork(cursor=cursor, claim=self.claim, parent=self.branch, run=self.run, path=row.path,
                          iteration=row.iteration, count=count, scope=scope)
        raise Forked()

    # --- walking ----------------------------------------------------------------------------------------
    def walk_steps(self, steps: list, base: str, iteration: str, repeat: dict | None = None) -> None:
        for index, step in enumerate(steps):
            self.walk_step(step, f"{base}.{index}", iteration, repeat)

    def walk_step(self, step: dict, path: str, iteration: str, repeat: dict | None = None) -> None:
        if not step.get("enabled", True):
            return
        kind = step_kind(step)
        memo = self.memo.get((path, iteration))
        if memo is not None and memo.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED):
            REPLAYERS.get(kind, lambda *a: None)(self, step, memo)
            return
        if memo is not None and memo.status == StepStatus.FAILED:
            if step.get("continue_on_error"):
                return
            raise StepError(memo.error)
        row = self.begin(step, path, iteration, kind, memo)
        try:
            result = EXECUTORS[kind](self, step, row, repeat)
        except (StopRun, Suspend, LeaseLost, Forked):
            raise
        except Exception as exc:  # any step failure is recorded on its row (a time limit too)
            self.fail(row, exc)
            if step.get("continue_on_error"):
                return
            # A child's failure already names its own path; only the innermost step says "failed".
            if isinstance(exc, StepError):
                raise
            raise StepError(f"step {path} failed: {step_error_text(exc)}") from exc
        if result is not None:
            self.complete(row, result)

    # --- step rows, each write fenced by the run's token ------------------------------------------------
    def begin(self, step: dict, path: str, iteration: str, kind: str, memo: RunStep | None) -> RunStep:
        if memo is None and self.branch is None and settings.CHECKSTACK_STEP_MAX_ATTEMPTS >= 1:
            row = RunStep(run=self.run, path=path, iteration=iteration, kind=kind, step_id=step.get("id", ""),
                          attempts=1, status=StepStatus.RUNNING, started_at=timezone.now())
            if insert_fenced(self.claim, row):  # a first attempt: one statement, no transaction of its own
                self.memo[(path, iteration)] = row
                return row
        with transaction.atomic():
            self.lock(starting=True)
            row = memo or RunStep(run=self.run, path=path, iteration=iteration, kind=kind,
                                  step_id=step.get("id", ""))
            # A step resumed from a wait was not interrupted: only a fresh start or a crash counts as an attempt
            # (else a wait woken a few times by changes that leave it false would "give up").
            resumed = row.status == StepStatus.WAITING
            if (kind not in CONTAINER_KINDS or row.pk is None) and not resumed:
                row.attempts += 1
            row.status = StepStatus.RUNNING
            row.started_at = row.started_at or timezone.now()
            if row.attempts > settings.CHECKSTACK_STEP_MAX_ATTEMPTS:
                row.status = StepStatus.FAILED
                row.error = f"interrupted {row.attempts - 1} times; giving up"
                row.finished_at = timezone.now()
                _save_step(row, ("attempts", "status", "started_at", "error", "finished_at"))
                self.memo[(path, iteration)] = row
                raise StepError(row.error)
            _save_step(row, ("attempts", "status", "started_at"))
        self.memo[(path, iteration)] = row
        return row

    def step_deadline(self) -> float:
        """Renew the lease in full; the monotonic time by which the step's outside call must have ended.

        The call runs outside the run's row lock, so only its lease keeps another worker from taking the
        run over and making the same call at the same time. Rather than renew the lease from a heartbeat
        thread while the call goes on (a second connection, and a call that may hang for ever), the call
        is cut off before the lease can lapse: the clock starts before the renewal is written.
        """
        start = time.monotonic()
        with transaction.atomic():
            self.lock(renew=True)
        return start + step_budget_seconds()

    def record(self, row: RunStep, **fields) -> None:
        """Update a running step's row (e.g. a decision) while the run is still ours."""
        with transaction.atomic():
            self.lock()
            for name, value in fields.items():
                setattr(row, name, mask(value))
            update_instance(row, tuple(fields))

    def complete(self, row: RunStep, result: dict, *, inside: Callable[[], Any] | None = None,
                 status: str = StepStatus.SUCCEEDED) -> Any:
        """Mark the step done; `inside` runs in the same transaction (a database-only action's write)."""
        if status == StepStatus.SUCCEEDED and row.iteration == "" and row.path == self.ends_run_at:
            return self._complete_ending_run(row, result, inside)
        with transaction.atomic():
            self.lock()
            value = inside() if inside is not None else None
            _settle(row, result, value, status)
            update_instance(row, STEP_OUTCOME)
        return value

    def _complete_ending_run(self, row: RunStep, result: dict, inside: Callable[[], Any] | None) -> Any:
        """The run's last step succeeded: end the run with the step's outcome, in one statement that is also
        the fence and the row lock, after the action's own writes in their transaction (a lost fence rolls
        them back). An action that sent nothing leaves that statement alone, a transaction of its own."""
        wake_bucket = self.run.automation.mode == "queued"
        with transaction.atomic():
            value = inside() if inside is not None else None
            _settle(row, result, value, StepStatus.SUCCEEDED)
            alone = not transaction_begun()
            if not alone:
                run_succeed_fenced(self.claim, wake_bucket=wake_bucket, step=row)
        if alone:  # BEGIN and COMMIT cost more than the statement itself
            run_succeed_fenced(self.claim, wake_bucket=wake_bucket, step=row)
        self.finished = True
        return value

    def fail(self, row: RunStep, exc: BaseException) -> None:
        with transaction.atomic():
            self.lock()
            row.status = StepStatus.FAILED
            row.error = mask(step_error_text(exc))[:10000]
            row.finished_at = timezone.now()
            update_instance(row, ("status", "error", "finished_at"))


def _settle(row: RunStep, result: dict, value: dict | None, status: str) -> None:
    """Set the step's outcome on its row (the action's own result merged in)."""
    row.status = status
    row.result = mask(result if value is None else {**result, **value.get("result", {})})
    row.finished_at = timezone.now()


def step_error_text(exc: BaseException) -> str:
    """A step's error as its row records it; the task's soft time limit names itself (its exception has no text)."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return TIME_LIMIT_TEXT.replace("deciding this", "running this step")
    return str(exc)
