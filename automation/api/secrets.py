"""secrets/: name and value in, names only out; the value is write-only."""

from django.db import transaction
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from ..models import Secret
from ..secrets import secret_delete, secret_set

SECRET_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class SecretSerializer(serializers.ModelSerializer):
    name = serializers.RegexField(rf"^{SECRET_NAME}$", max_length=100)
    value = serializers.CharField(write_only=True, max_length=10000, trim_whitespace=False)

    class Meta:
        model = Secret
        fields = ["name", "value", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class SecretViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    queryset = Secret.objects.order_by("name")
    serializer_class = SecretSerializer
    lookup_field = "name"
    lookup_value_regex = SECRET_NAME  # anything else is a 404 before it reaches the database

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if Secret.objects.filter(name=serializer.validated_data["name"]).exists():
            raise serializers.ValidationError({"name": ["a secret with this name already exists"]})
        secret = secret_set(**serializer.validated_data)
        return Response(self.get_serializer(secret).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        secret = self.get_object()
        serializer = self.get_serializer(secret, data={"name": secret.name, **request.data})
        serializer.is_valid(raise_exception=True)
        secret = secret_set(name=secret.name, value=serializer.validated_data["value"])
        return Response(self.get_serializer(secret).data)

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            secret_delete(name=self.get_object().name)
        return Response(status=status.HTTP_204_NO_CONTENT)
