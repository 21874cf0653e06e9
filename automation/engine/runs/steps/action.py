"""`action`: render the config, validate it, check permissions, pick consumed artifacts and execute.

A database-only action runs inside the transaction that marks its step done, so its write and the
record of it commit together. An external action (HTTP, email) runs outside it and, after a crash, is
retried with the same idempotency key.
"""

from pydantic import ValidationError

from ....definitions import USE_SECRET, ActionContext, ActionOutcome
from ....definitions import action as action_definition
from ....entities.actor import acting_as, run_actor
from ....expressions.evaluate import render_config
from ....expressions.secret_use import config_secret_errors, config_uses_secret
from ..artifacts import (
    artifact_close,
    artifact_id_field,
    artifact_record,
    find_open_artifact,
)
from ..outcomes import StepError


class _ActionFailed(Exception):
    """Rolls back a failed database-only action's writes while its failure is recorded."""

    def __init__(self, outcome: ActionOutcome):
        self.outcome = outcome


def _config_error(exc: ValidationError) -> str:
    return "; ".join(
        f"config.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" if err["loc"] else err["msg"]
        for err in exc.errors()
    )


def _check_permissions(walker, definition, config) -> None:
    """Re-check at run time what saving checked: the stored document or the user may have changed since."""
    user = walker.run.automation.run_as
    if user is None:  # never skip the checks: without a user there is nothing to check against
        raise StepError("the automation has no run_as user, so it cannot run; save it with one")
    if not user.is_active:
        raise StepError(f"run_as user {user.get_username()} is inactive")
    # A document that reached the database without the validator fails here instead of leaking a secret.
    misuse = config_secret_errors(config, secret_fields=definition.secret_fields)
    if misuse:
        path, message = misuse[0]
        raise StepError(f"{path}: {message}")
    needed = definition.permissions + ((USE_SECRET,) if config_uses_secret(config) else ())
    for perm in needed:
        if not user.has_perm(perm):
            raise StepError(f"permission denied: {perm}")


def _validated_config(walker, definition, raw_config: dict, repeat):
    """The step's config rendered in the run's scope and checked by the action's schema."""
    # Secrets resolve only while the declared fields render: anywhere else secret() is undefined.
    rendered = render_config(raw_config, walker.scope(repeat=repeat), secret_resolver=walker.secret_resolver,
                             secret_fields=definition.secret_fields)
    try:
        return definition.config_schema.model_validate(rendered)
    except ValidationError as exc:
        raise StepError(_config_error(exc)) from exc


def _consumed_rows(walker, definition) -> dict:
    """The open artifacts of the types the action consumes, by type."""
    consumed_rows = {}
    for type_id in definition.consumes:
        artifact = find_open_artifact(run=walker.run, type_id=type_id, produced_in_run=walker.state.artifact_rows)
        if artifact is not None:
            consumed_rows[type_id] = artifact
    return consumed_rows


def _action_context(walker, definition, row) -> ActionContext:
    return ActionContext(
        run_id=str(walker.run.pk), automation_id=str(walker.run.automation_id), actor=run_actor(walker.run.pk),
        run_as_user_id=walker.run.automation.run_as_id, step_path=row.path, iteration=row.iteration,
        depth=walker.run.depth + 1,
        # An outside call runs outside the run's lock: it must end inside the lease (see step_deadline).
        deadline=walker.step_deadline() if definition.external else None,
    )


def execute(walker, step, row, repeat):
    definition = action_definition(step["action"])
    if definition is None:
        raise StepError(f"unknown action {step['action']}")
    raw_config = step.get("config") or {}
    _check_permissions(walker, definition, raw_config)
    config = _validated_config(walker, definition, raw_config, repeat)
    consumed_rows = _consumed_rows(walker, definition)
    consumed = {type_id: artifact.data for type_id, artifact in consumed_rows.items()}
    context = _action_context(walker, definition, row)

    def perform() -> ActionOutcome:
        with acting_as(context.actor, depth=context.depth):
            return definition.execute(config, consumed, context)

    def settle(outcome: ActionOutcome) -> dict:
        """Inside the step's transaction: keep the artifact, close what was consumed."""
        if not outcome.success:
            raise _ActionFailed(outcome)
        if definition.produces and outcome.artifact is not None:
            walker.state.artifact_rows.append(
                artifact_record(run=walker.run, step_id=step.get("id", ""), type_id=definition.produces,
                                data=outcome.artifact)
            )
            walker.state.artifacts.setdefault(step.get("id", ""), {})[definition.produces] = outcome.artifact
        if definition.closes_consumed:
            for type_id, artifact in consumed_rows.items():
                explicit = getattr(config, artifact_id_field(type_id), None)
                if not explicit or str(explicit) == str(artifact.data.get(artifact_id_field(type_id))):
                    artifact_close(artifact)
        return {"result": outcome.result}

    try:
        if definition.external:
            outcome = perform()
            walker.complete(row, {}, inside=lambda: settle(outcome))
        else:
            # No savepoint of its own: a failure (_ActionFailed or any other) leaves complete()'s atomic
            # block, which rolls back the action's writes with the step's own (a savepoint there when
            # nested), and the failure is then recorded in a transaction of its own (record / fail).
            walker.complete(row, {}, inside=lambda: settle(perform()))
    except _ActionFailed as failed:
        walker.record(row, result=failed.outcome.result)
        raise StepError(failed.outcome.error or "action failed") from None
    return None


def replay(walker, step, row):
    """Re-apply what a finished action produced."""
    for artifact in row.run.artifacts.filter(step_id=step.get("id", "")).order_by("id"):
        if artifact.step_id and artifact not in walker.state.artifact_rows:
            walker.state.artifact_rows.append(artifact)
            walker.state.artifacts.setdefault(artifact.step_id, {})[artifact.type] = artifact.data
