"""API permission: Django model permissions, including `view_` for reads."""

from rest_framework.permissions import DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Require the model's view/add/change/delete permission for each method; anonymous gets nothing."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class ActionAwarePermissions(ModelPermissions):
    """Model permissions, except for viewset actions listed in the view's `action_permissions`.

    e.g. `action_permissions = {"cancel": ["automation.change_automation"]}`: a POST to cancel/ needs that
    permission rather than the model's `add_`.
    """

    def has_permission(self, request, view):
        required = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if required is None:
            return super().has_permission(request, view)
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(required))
