"""Read-only panels other apps add to the System admin page, registered in their `AppConfig.ready()`:
the apps that build on catalog (checks) fill this in, so catalog never imports them."""

from typing import Callable

from django.utils.html import format_html_join

_system_panels: list[Callable] = []


def register_system_panel(render: Callable) -> None:
    """Add `render(system) -> html` to the System page's "Checks and recent results" panel; idempotent."""
    if render not in _system_panels:
        _system_panels.append(render)


def system_panels(system) -> str:
    """The registered panels of `system`, in registration order; "—" when no app registered one."""
    if not _system_panels:
        return "—"
    return format_html_join("", "{}", ((render(system),) for render in _system_panels))
