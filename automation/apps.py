from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"
    verbose_name = "Automation and entity history"

    def ready(self):
        from . import tasks
        from .builtins import register as register_builtins
        from .engine.firing import dwell_deadlines
        from .engine.firing.routing import on_routed_changes
        from .engine.runs.wakeups import register_wakeup_tasks
        from .engine.waiting import handlers as timer_handlers
        from .entities import tracked
        from .entities.kinds import register as register_kinds
        from .entities.mutation import entity_mutate
        from .entities.registry import register_trigger_consumer

        register_kinds()
        register_trigger_consumer(on_routed_changes)
        register_builtins()
        # Registration points filled here, so that no module of the package imports one that imports it back.
        tracked.register_mutation_door(entity_mutate)
        register_wakeup_tasks(advance_run=tasks.advance_run, resume_run=tasks.resume_run,
                              advance_branch=tasks.advance_branch, resume_branch=tasks.resume_branch)
        timer_handlers.register()
        dwell_deadlines.register()
