"""API permission: Django model permissions, including `view_` for reads, and one map per viewset's actions."""

from rest_framework.permissions import DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Require the model's view/add/change/delete permission for each method; anonymous gets nothing."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def undeclared_actions(viewset_class) -> list[str]:
    """The viewset's custom `@action`s that name no permission in its `action_permissions`."""
    declared = getattr(viewset_class, "action_permissions", {})
    return sorted(extra.__name__ for extra in viewset_class.get_extra_actions() if extra.__name__ not in declared)


class ActionAwarePermissions(ModelPermissions):
    """Model permissions for CRUD; each custom action needs what the view's `action_permissions` names.

    e.g. `action_permissions = {"cancel": ["automation.change_automation"]}`: a POST to cancel/ needs that
    permission rather than the model's `add_` (an empty list: any authenticated user). A custom action
    missing from the map is refused to everyone: guessing from the HTTP method (POST → `add_`) is how
    "cancel" once needed the wrong permission, so an undeclared action fails closed instead.
    """

    def has_permission(self, request, view):
        action = getattr(view, "action", None)
        declared = getattr(view, "action_permissions", {})
        if action in declared:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(declared[action]))
        if action in {extra.__name__ for extra in getattr(view, "get_extra_actions", list)()}:
            return False
        return super().has_permission(request, view)
