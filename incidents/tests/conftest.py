import pytest
from django.contrib.auth.models import Permission


@pytest.fixture
def admin_user(django_user_model):
    # Overrides the root fixture without a password: hashing one costs about a second per test.
    return django_user_model.objects.create_superuser("admin", "admin@example.com", password=None)


@pytest.fixture
def user_with(django_user_model, api_client):
    """An API client logged in as a user holding exactly the given `incidents` permission codenames."""

    def make(*codenames):
        user = django_user_model.objects.create_user(f"user-{'-'.join(codenames) or 'none'}")
        perms = Permission.objects.filter(content_type__app_label="incidents", codename__in=codenames)
        user.user_permissions.set(perms)
        api_client.force_authenticate(user)
        return api_client

    return make
