"""`/status/maintenance.ics`: maintenance scheduled and in progress as iCalendar events (`icalendar`)."""

from __future__ import annotations

from datetime import datetime

import icalendar
from django.conf import settings
from django.urls import reverse

from maintenance.models import MaintenanceWindow

from .summary import absolute


def _event(window: MaintenanceWindow, host: str, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    # Stable per window, so a calendar that subscribed updates the event instead of adding another.
    event.add("uid", f"maintenance-{window.pk}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", window.start_at)
    event.add("dtend", window.end_at)
    event.add("summary", window.title)
    if window.description:
        event.add("description", window.description)
    event.add("url", absolute(reverse("statuspage:maintenance", args=[window.pk])))
    # RFC 5545's event statuses: an in-progress window is as confirmed as a scheduled one.
    event.add("status", "CONFIRMED")
    event.add("last-modified", window.updated_at)
    return event


def maintenance_calendar(windows: list[MaintenanceWindow], *, host: str, now: datetime) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Checkstack//Status page maintenance//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{settings.CHECKSTACK_STATUS_NAME}: maintenance")
    for window in windows:
        calendar.add_component(_event(window, host, now))
    return calendar.to_ical()
