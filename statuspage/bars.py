"""The 90-day uptime bar: pure geometry from each day's (runs, failures), and its SVG.

A day with failures is its own mark, with its own tooltip. A run of consecutive days without failures (or
without data) is one mark: one <rect> painted as separate bars by a pattern, with one tooltip for the run. A
fleet's page mostly shows such days, and drawing each as its own <rect> and <title> made a 500-system page
6.6 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from checks.uptime import DayUptime, Tally, percent_text

BAR_WIDTH, BAR_GAP, BAR_HEIGHT = 6, 2, 34
STEP = BAR_WIDTH + BAR_GAP
# A day with failures reads "partial" down to this uptime, "down" below it.
PARTIAL_FROM_PERCENT = 99.0
MERGED = ("up", "nodata")  # states whose consecutive days share one mark


@dataclass(frozen=True)
class Bar:
    x: int
    state: str  # up, partial, down, nodata: the CSS class
    title: str
    days: int = 1  # consecutive days the mark covers


def day_state(day: DayUptime) -> str:
    percent = day.tally.percent
    if percent is None:
        return "nodata"
    if not day.tally.failures:
        return "up"
    return "partial" if percent >= PARTIAL_FROM_PERCENT else "down"


def _state(runs: int, failures: int) -> str:
    return day_state(DayUptime(None, Tally(runs, failures))) if failures else ("up" if runs else "nodata")


@lru_cache(maxsize=16)
def _words(language: str | None) -> dict:
    """The bar's translated phrases, looked up once per language (a fleet's page needs thousands of them)."""
    return {
        "day_nodata": _("%(day)s: no data"),
        "day": _("%(day)s: %(percent)s up (%(failures)d of %(runs)d checks failed)"),
        "run_nodata": _("%(first)s to %(last)s: no data"),
        "run": _("%(first)s to %(last)s: 100.00 %% up (0 of %(runs)d checks failed)"),
        "label": _("Uptime over the last %(count)d days: %(failing)s with failures, %(empty)s without data."),
        "recent": _("Most recent failures: %(days)s."),
    }


@lru_cache(maxsize=65_536)
def _day_title(day: date, runs: int, failures: int, language: str | None) -> str:
    # Memoised (per language): across a fleet many days read alike (the same day, runs and failures).
    words = _words(language)
    if not runs:
        return words["day_nodata"] % {"day": day.isoformat()}
    return words["day"] % {"day": day.isoformat(), "percent": percent_text(Tally(runs, failures).percent),
                           "failures": failures, "runs": runs}


def _run_title(first: date, last: date, runs: int, words: dict) -> str:
    dates = {"first": first.isoformat(), "last": last.isoformat(), "runs": runs}
    return (words["run"] if runs else words["run_nodata"]) % dates


@lru_cache(maxsize=1024)
def _days(count: int, language: str | None) -> str:
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


def bar_label(dates: list[date], tallies: list) -> str:
    """The bar's text alternative: counts, and the most recent days with failures (screen readers do not
    reach the bars' own titles inside an image)."""
    failing = _failing(dates, tallies)
    return _label(len(dates), len(failing), sum(1 for tally in tallies if not tally[0]), failing[-5:])


def _failing(dates: list[date], tallies) -> list[str]:
    """Each day with failures as the label quotes it ("2026-12-01 99.93 %"), oldest first."""
    return [f"{day.isoformat()} {percent_text(Tally(tally[0], tally[1]).percent)}"
            for day, tally in zip(dates, tallies, strict=True) if tally[1]]


def _label(count: int, failing: int, empty: int, recent: list[str], language: str | None = None) -> str:
    language = language or get_language()
    words = _words(language)
    label = words["label"] % {"count": count, "failing": _days(failing, language), "empty": _days(empty, language)}
    if recent:
        label += " " + words["recent"] % {"days": ", ".join(reversed(recent))}
    return label


def bar_marks(dates: list[date], tallies: list) -> list[Bar]:
    """The marks of the bar, left to right: one per day with failures, one per run of other equal days."""
    marks, n, count, language = [], 0, len(dates), get_language()
    words = _words(language)
    while n < count:
        runs, failures = tallies[n][0], tallies[n][1]
        state = _state(runs, failures)
        end, total = n + 1, runs
        if state in MERGED:
            while end < count and tallies[end][1] == 0 and bool(tallies[end][0]) == bool(runs):
                total += tallies[end][0]
                end += 1
        title = (_day_title(dates[n], runs, failures, language) if end == n + 1
                 else _run_title(dates[n], dates[end - 1], total, words))
        marks.append(Bar(x=n * STEP, state=state, title=title, days=end - n))
        n = end
    return marks


def uptime_bar(days: list[DayUptime]) -> dict:
    dates, tallies = [d.day for d in days], [tuple(d.tally) for d in days]
    return {"bars": bar_marks(dates, tallies), "width": len(days) * STEP - BAR_GAP, "height": BAR_HEIGHT,
            "bar_width": BAR_WIDTH, "label": bar_label(dates, tallies)}


@lru_cache(maxsize=65_536)
def _mark_svg(bar: Bar) -> str:
    title = f"<title>{escape(bar.title)}</title>"
    if bar.days == 1:
        return (f'<rect class="day {bar.state}" x="{bar.x}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" rx="1">'
                f"{title}</rect>")
    # One rect as wide as its days, painted as separate bars by the page's pattern (PATTERNS).
    return (f'<rect class="day {bar.state}" x="{bar.x}" width="{bar.days * STEP - BAR_GAP}" '
            f'height="{BAR_HEIGHT}" data-days="{bar.days}" style="fill:url(#bar-days-{bar.state})">{title}</rect>')


# Defined once per page (templates/status/base.html): a bar every STEP user units, in the state's colour, so a
# run of days is one element; the page's bars all use the same grid and scale, so the bars line up.
PATTERNS = mark_safe(
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>' + "".join(
        f'<pattern id="bar-days-{state}" patternUnits="userSpaceOnUse" width="{STEP}" height="{BAR_HEIGHT}">'
        f'<rect width="{BAR_WIDTH}" height="{BAR_HEIGHT}" rx="1" style="fill:var(--{colour})"/></pattern>'
        for state, colour in (("up", "healthy"), ("nodata", "nodata"))) + "</defs></svg>")


@lru_cache(maxsize=8192)
def _past_bar(first: date, tallies: tuple, language: str | None) -> tuple[str, int, int, tuple[str, ...]]:
    """The past days' marks as SVG, with their count of days with failures, of days without data, and the
    last five days with failures; memoised per process and language.

    The past days change only when the roll-up refresh rewrites a system's history (a new day, or roll-ups
    catching up), so a page draws each system's past at most once per refresh instead of once per view: a
    500-system page spent most of its render time here.
    """
    dates = [first + timedelta(days=n) for n in range(len(tallies))]
    marks = "".join(_mark_svg(bar) for bar in bar_marks(dates, list(tallies)))
    failing = _failing(dates, tallies)
    return marks, len(failing), sum(1 for tally in tallies if not tally[0]), tuple(failing[-5:])


@lru_cache(maxsize=8192)
def _label_markup(count: int, failing: int, empty: int, recent: tuple[str, ...], language: str | None) -> str:
    """The bar's opening <svg> with its label, escaped; memoised, as most systems' labels repeat across views."""
    label = escape(_label(count, failing, empty, list(recent), language))
    return (f'<svg class="uptime-bar" viewBox="0 0 {count * STEP - BAR_GAP} {BAR_HEIGHT}" '
            f'preserveAspectRatio="none" role="img" aria-label="{label}"><title>{label}</title>')


def uptime_bar_markup(*, dates: list[date], tallies, language: str | None = None) -> SafeString:
    """The bar as inline SVG, oldest day on the left; each mark's <title> is its tooltip.

    `tallies`: (runs, failures) tuples, one per date. Today is always its own mark (it moves with every
    result), the past days as `_past_bar` draws them. `language`: the request's, when the caller has it.
    """
    language = language or get_language()
    marks, failing, empty, recent = _past_bar(dates[0], tuple(tallies[:-1]), language)
    (runs, failures), today = tallies[-1], dates[-1]
    if failures:
        failing, recent = failing + 1, (*recent, *_failing([today], [(runs, failures)]))[-5:]
    today_mark = _mark_svg(Bar(x=(len(dates) - 1) * STEP, state=_state(runs, failures),
                               title=_day_title(today, runs, failures, language)))
    return SafeString(f"{_label_markup(len(dates), failing, empty + (not runs), recent, language)}"
                      f"{marks}{today_mark}</svg>")
