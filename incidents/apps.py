from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from . import actions, entities, triggers

        entities.register()
        triggers.register()
        actions.register()
