from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from automation.secrets import register_secret_rotator

        from . import actions, fanout, retention
        from .channels import planning, vault

        fanout.register()
        planning.register()
        retention.register()
        actions.register()
        register_secret_rotator(vault.channel_secrets_rotate)
