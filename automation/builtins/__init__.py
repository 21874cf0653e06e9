"""Triggers and actions that belong to the engine itself rather than to a domain app."""


def register() -> None:
    from . import email, log, triggers, webhook

    triggers.register()
    log.register()
    webhook.register()
    email.register()
