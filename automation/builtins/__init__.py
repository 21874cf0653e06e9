"""Triggers and actions that belong to the engine itself rather than to a domain app."""


def register() -> None:
    from . import log, triggers

    triggers.register()
    log.register()
    try:
        from . import email, webhook
    except ImportError:  # pragma: no cover - modules land separately
        return
    webhook.register()
    email.register()
