"""Artifacts: what producing steps leave for consuming steps of the same run or later runs."""

from django.db.models import Q
from django.utils import timezone

from ...definitions import definitions
from ...masking import mask
from ...models import Artifact, Run


def artifact_id_field(type_id: str) -> str:
    """The data key naming the thing an artifact stands for (`incident` → `incident_id`)."""
    artifact_type = definitions.artifact_types.get(type_id)
    return getattr(artifact_type, "id_field", None) or f"{type_id}_id"


def find_open_artifact(*, run: Run, type_id: str, produced_in_run: list[Artifact]) -> Artifact | None:
    """The most recent open artifact of a type: from an earlier step of this run, else an earlier run of
    the same automation and context key."""
    for artifact in reversed(produced_in_run):
        if artifact.type == type_id and artifact.closed_at is None:
            return artifact
    same_context = Q(context_key=run.context_key) if run.context_key is not None else Q(context_key__isnull=True)
    return (
        Artifact.objects.filter(same_context, automation_id=run.automation_id, type=type_id, closed_at=None)
        .exclude(run=run)
        .order_by("-id")
        .first()
    )


def artifact_record(*, run: Run, step_id: str, type_id: str, data: dict) -> Artifact:
    return Artifact.objects.create(run=run, automation_id=run.automation_id, type=type_id, step_id=step_id,
                                   data=mask(data), context_key=run.context_key)


def artifact_close(artifact: Artifact) -> None:
    artifact.closed_at = timezone.now()
    artifact.save(update_fields=["closed_at"])
