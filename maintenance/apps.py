from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = "Maintenance"

    def ready(self):
        from . import actions, entities, facts, triggers

        entities.register()
        triggers.register()
        actions.register()
        facts.register()
