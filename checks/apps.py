from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "checks"
    verbose_name = "Checks"

    def ready(self):
        from . import facts, retention

        facts.register()
        retention.register()
