"""Advance one branch of a `parallel` step: claim it, walk its steps, record how it ended, join."""

import logging

from django.db.models import Q

from foundation.log_context import log_context

from ...masking import masking_scope
from ...models import Artifact, BranchStatus, Run
from ...secrets import secret_resolve
from ..runs.leases import LeaseLost
from ..runs.outcomes import Forked, StepError, StopRun, Suspend
from ..runs.runner import run_advance
from ..runs.step_paths import step_at
from ..runs.wakeups import wake_branch
from ..runs.walker import Walker, WalkState
from ..scope import trigger_scope
from .forks import (
    HALTED_ERROR,
    BranchClaim,
    BranchHalted,
    Reopened,
    branch_claim,
    branch_end,
    branch_release_to_wait,
    locked_branch,
)

logger = logging.getLogger(__name__)


class BranchWalker(Walker):
    """Walks one branch from the scope its run had at the fork, under the branch's own lease and token."""

    def __init__(self, run: Run, claim: BranchClaim):
        self.run, self.claim, self.branch = run, claim, claim.branch
        self.prefix = f"{self.branch.path}.parallel.{self.branch.index}"
        steps = run.steps.filter(Q(path=self.prefix) | Q(path__startswith=f"{self.prefix}."))
        self.memo = {} if claim.first_start else {(s.path, s.iteration): s for s in steps}
        self.secret_resolver = secret_resolve
        scope = self.branch.scope
        self.state = WalkState(
            trigger=trigger_scope(trigger_id=run.trigger_id, event=run.event, actor=run.actor, payload=run.payload),
            payload=run.payload, variables=dict(scope.get("variables") or {}), resume=scope.get("resume"),
            wait=scope.get("wait"),
        )
        self.forked_with = set(scope.get("artifacts") or [])
        for artifact in Artifact.objects.filter(pk__in=self.forked_with).order_by("id"):
            self.state.artifact_rows.append(artifact)
            self.state.artifacts.setdefault(artifact.step_id, {})[artifact.type] = artifact.data

    def lock(self, *, renew: bool = False, starting: bool = False):
        return locked_branch(self.claim, renew=renew, starting=starting)

    def walk(self) -> None:
        spec = step_at(self.run.document, self.branch.path)["parallel"][self.branch.index]
        repeat = self.branch.scope.get("repeat")
        if isinstance(spec, list):
            self.walk_steps(spec, f"{self.prefix}.sequence", self.branch.iteration, repeat)
        else:
            self.walk_step(spec, self.prefix, self.branch.iteration, repeat)

    def outcome(self) -> dict:
        """What the join merges: the variables this branch set, the artifacts it produced."""
        return {"variables": self.state.assigned,
                "artifacts": [a.pk for a in self.state.artifact_rows if a.pk not in self.forked_with]}


def branch_advance(*, branch_id, resume: bool = False) -> str | None:
    """Walk the branch as far as it goes now; idempotent (a branch held elsewhere or ended is left alone).

    The last branch of a fork to end walks on with the cursor that forked it, here, at once.
    """
    with masking_scope(), log_context(branch_id=branch_id):
        claim = branch_claim(branch_id=branch_id, resume=resume)
        if isinstance(claim, Reopened):
            return _walk_on(claim) or BranchStatus.FAILED
        if claim is None:
            return None
        with log_context(run_id=claim.run_id):
            return _walk(claim)


def _walk(claim: BranchClaim) -> str | None:
    walker = BranchWalker(claim.run, claim)
    try:
        walker.walk()
    except BranchHalted:
        return _end(claim, BranchStatus.CANCELLED, error=HALTED_ERROR, result=walker.outcome())
    except LeaseLost:
        logger.info("branch %s: lease lost (run cancelled or branch taken over); stopping here", claim.branch_id)
        return None
    except Forked:
        return BranchStatus.FORKED
    except Suspend as suspend:
        try:
            reopened = branch_release_to_wait(claim=claim, park=suspend.park)
        except LeaseLost:
            return None
        if reopened is not None:
            _walk_on(reopened)
            return BranchStatus.CANCELLED
        if suspend.missed is not None and suspend.missed():
            wake_branch(claim.branch_id, resume=True)
        return BranchStatus.WAITING
    except StopRun as stop:
        # A `stop` (or a false `condition`) ends this branch only; with `error: true` it fails it.
        status = BranchStatus.FAILED if stop.failed else BranchStatus.STOPPED
        return _end(claim, status, error=stop.reason if stop.failed else "",
                    result={**walker.outcome(), "reason": stop.reason})
    except StepError as exc:
        return _end(claim, BranchStatus.FAILED, error=str(exc), result=walker.outcome())
    return _end(claim, BranchStatus.SUCCEEDED, result=walker.outcome())


def _end(claim: BranchClaim, status: str, *, error: str = "", result: dict | None = None) -> str | None:
    try:
        reopened = branch_end(claim=claim, status=status, error=error, result=result)
    except LeaseLost:
        return None
    if reopened is not None:
        _walk_on(reopened)
    return status


def _walk_on(reopened: Reopened) -> str | None:
    """This branch was the last of its fork to end: continue the run (or the enclosing branch) here."""
    if reopened.branch_id is not None:
        return branch_advance(branch_id=reopened.branch_id)
    return run_advance(run_id=reopened.run_id)
