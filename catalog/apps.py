from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Systems"

    def ready(self):
        from . import entities, triggers

        entities.register()
        triggers.register()
