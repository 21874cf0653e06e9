"""Where a watched check's value stands against one `check.numeric_state` range: the reactive state the trigger
fires from (entity kind `check_numeric`), one row per check and watch, written only when `inside` flips."""

import uuid

from django.db import models

from automation.entities.tracked import TrackedModel

WATCH_NAMESPACE = uuid.UUID("6f1c2a53-1f7e-4c55-9d0e-5b3b1f0e7a11")


def watch_row_id(check_id, watch: str) -> uuid.UUID:
    """The row's id, the same in every process for one check and watch (its entity id is known before it exists)."""
    return uuid.uuid5(WATCH_NAMESPACE, f"{check_id}|{watch}")


class NumericWatch(TrackedModel):
    """Whether a check's latest value of a watched field is inside a watch's range."""

    entity_kind_name = "check_numeric"

    id = models.UUIDField(primary_key=True, editable=False)
    check_ref = models.ForeignKey("checks.Check", on_delete=models.CASCADE, related_name="numeric_watches",
                                  db_column="check_id")
    watch = models.CharField(max_length=200)  # checks/numeric_state.py: watch_key
    inside = models.BooleanField()
    value = models.FloatField(null=True)  # the value when `inside` last flipped
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["check_ref", "watch"], name="numeric_watch_one_per_check")]

    def __str__(self):
        return f"{self.check_ref_id} {self.watch}: {'inside' if self.inside else 'outside'}"
