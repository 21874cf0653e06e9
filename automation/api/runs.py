"""runs/: list and detail (with steps and artifacts), cancel."""

import django_filters
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from foundation.permissions import ActionAwarePermissions

from ..entities.actor import user_actor
from ..models import Artifact, Run, RunStatus, RunStep
from ..services.runs import run_cancel


class RunStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunStep
        fields = ["path", "iteration", "kind", "status", "attempts", "result", "error", "started_at", "finished_at"]


class ArtifactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Artifact
        fields = ["type", "step_id", "data", "context_key", "created_at", "closed_at"]


class RunSerializer(serializers.ModelSerializer):
    steps = RunStepSerializer(many=True, read_only=True)
    artifacts = ArtifactSerializer(many=True, read_only=True)

    class Meta:
        model = Run
        fields = ["id", "automation", "automation_version", "trigger_id", "event", "payload", "actor", "run_as",
                  "context_key",
                  "status", "error", "reason", "created_at", "started_at", "finished_at", "steps", "artifacts"]


class RunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = Run
        fields = ["automation", "status", "context_key"]


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[^/]+"
    queryset = Run.objects.order_by("-created_at")
    filterset_class = RunFilter
    permission_classes = [ActionAwarePermissions]
    action_permissions = {"cancel": ["automation.change_automation"]}

    # Lists carry steps and artifacts too (the run shape of docs/api.md): two prefetch queries per page, not per run.
    def get_queryset(self):
        return self.queryset.prefetch_related("steps", "artifacts")

    serializer_class = RunSerializer

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        with transaction.atomic():
            run = run_cancel(run=run, actor=user_actor(request.user))
        return Response(RunSerializer(run).data)
