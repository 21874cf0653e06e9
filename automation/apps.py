from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"
    verbose_name = "Automation and entity history"

    def ready(self):
        from .builtins import register as register_builtins
        from .engine.routing import on_routed_changes
        from .entities.kinds import register as register_kinds
        from .entities.registry import register_trigger_consumer

        register_kinds()
        register_trigger_consumer(on_routed_changes)
        register_builtins()
