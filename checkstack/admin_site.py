"""The Checkstack admin: branded, linked to the status page, with the dashboard on its index."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class CheckstackAdminSite(admin.AdminSite):
    site_header = "Checkstack"
    site_title = "Checkstack admin"
    index_title = "State of things"
    site_url = "/status/"

    def index(self, request, extra_context=None):
        from .dashboard import dashboard_figures  # imports models: not at app-loading time

        extra_context = {**(extra_context or {}), "dashboard": dashboard_figures(user=request.user)}
        return super().index(request, extra_context)


class CheckstackAdminConfig(AdminConfig):
    """Django's admin app with CheckstackAdminSite as `admin.site`, so every `admin.register` lands on it."""

    default_site = "checkstack.admin_site.CheckstackAdminSite"
