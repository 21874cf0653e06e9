from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"
    verbose_name = "Automation and entity history"

    def ready(self):
        from .builtins import register as register_builtins
        from .entities.registry import register_trigger_consumer

        try:
            from .engine.routing import on_routed_change
        except ImportError:  # TEMPORARY while automation.expressions lands
            on_routed_change = None
        if on_routed_change is not None:
            register_trigger_consumer(on_routed_change)
        register_builtins()
