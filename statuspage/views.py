"""The public status pages: no login, read-only, nothing internal, the same for every visitor (cacheable)."""

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from catalog.models import System
from checks.locations.selectors import system_locations

from .badges import status_badge, uptime_badge
from .caching import public_page
from .calendar import maintenance_calendar
from .catalog_reads import impact_of
from .feeds import StatusAtomFeed, StatusRssFeed
from .items import system_item, system_items
from .records import calendar_windows, history_page, incident_public, maintenance_public
from .selectors import status_page, system_public
from .splice import Splice
from .summary import summary, uptime_90d
from .theme import page_context

SVG = "image/svg+xml; charset=utf-8"


@require_safe
@public_page
def status(request):
    page = status_page(now=timezone.now())
    splice = Splice()  # the entries' 1.5 MB of a large page skip the template engine's copies (splice.py)
    for section in page.sections:
        section.items_html = splice.mark(system_items(section.systems))
    ungrouped = splice.mark(system_items(page.ungrouped))
    return splice.fill(render(request, "status/page.html", page_context(page=page, ungrouped_html=ungrouped)))


@require_safe
@public_page
def system(request, pk):
    """One system with its 24-hour response-time chart (the main page draws only the 90-day bars)."""
    found = system_public(pk, now=timezone.now())
    if found is None:
        raise Http404
    return render(request, "status/system.html", page_context(system=found, system_html=system_item(found),
                                                              locations=system_locations(pk)))


def _system_names(ids) -> list[str]:
    return list(System.objects.filter(pk__in=list(ids)).order_by("name").values_list("name", flat=True))


def _record_page(request, record):
    if record is None:
        raise Http404
    names = _system_names(link.system_id for link in record.obj.system_links.all())
    return render(request, "status/record.html", page_context(record=record, systems=names, now=timezone.now()))


@require_safe
@public_page
def incident(request, pk):
    return _record_page(request, incident_public(pk))


@require_safe
@public_page
def maintenance(request, pk):
    return _record_page(request, maintenance_public(pk))


@require_safe
@public_page
def history(request):
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or int(raw) < 1 or int(raw) > 10_000:
        raise Http404
    now = timezone.now()
    page = history_page(now=now, number=int(raw))
    return render(request, "status/history.html", page_context(history=page, monthly_uptime=_monthly(now)))


def _monthly(now) -> list[dict]:
    """The last 3 months' uptime of every system with checks, by name (2 queries, however many systems)."""
    from checks.models import Check
    from checks.slos.monthly import monthly_uptime

    systems = (System.objects.filter(pk__in=Check.objects.values("system_id")).order_by("name")
               .only("pk", "name"))
    return monthly_uptime(systems=systems, now=now)


@require_safe
@public_page
def summary_json(request):
    now = timezone.now()
    return JsonResponse(summary(status_page(now=now), updated_at=now), json_dumps_params={"ensure_ascii": False})


def _system_or_404(pk) -> System:
    system = System.objects.select_related("health", "impact").filter(pk=pk).first()
    if system is None:
        raise Http404
    return system


@require_safe
@public_page
def badge_status(request, pk):
    system = _system_or_404(pk)
    impact, _impacted_by = impact_of(system)
    return HttpResponse(status_badge(system.name, impact), content_type=SVG)


@require_safe
@public_page
def badge_uptime(request, pk):
    from checks.uptime import uptime_for_systems

    system = _system_or_404(pk)
    uptime = uptime_for_systems(system_ids=[system.pk], now=timezone.now()).get(str(system.pk))
    return HttpResponse(uptime_badge(uptime_90d(uptime)), content_type=SVG)


@require_safe
@public_page
def maintenance_ics(request):
    body = maintenance_calendar(calendar_windows(), host=request.get_host().split(":")[0], now=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="maintenance.ics"'
    return response


feed_rss = require_safe(public_page(StatusRssFeed()))
feed_atom = require_safe(public_page(StatusAtomFeed()))
