from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "checks"
    verbose_name = "Checks"

    def ready(self):
        from catalog.admin_panels import register_system_panel

        from . import facts, numeric_state, retention
        from .admin import system_checks_panel
        from .slos import entities as slo_entities

        facts.register()
        retention.register()
        numeric_state.register()
        slo_entities.register()
        register_system_panel(system_checks_panel)
