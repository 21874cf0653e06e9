from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from . import actions, fanout, retention
        from .channels import planning

        fanout.register()
        planning.register()
        retention.register()
        actions.register()
