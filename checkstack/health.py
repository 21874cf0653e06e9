"""/healthz: can Checkstack reach its database and broker, and is change delivery keeping up."""

from django.db import connection
from django.db.models import Min
from django.http import JsonResponse
from django.utils import timezone

from automation.entities.parking import parked_count
from automation.models import ChangeEvent, Timer
from notifications.channels.models import ChannelDelivery

from .celery import app
from .metrics import capped_count


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - reported, not raised
        return False


def _broker_ok() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001 - reported, not raised
        return False


def healthz(request):
    database = _database_ok()
    now = timezone.now()
    oldest = (ChangeEvent.objects.filter(routed_at=None, parked_at=None).aggregate(m=Min("occurred_at"))["m"]
              if database else None)
    parked = parked_count() if database else None
    overdue = (Timer.objects.filter(fired_at=None, due_at__lte=now).aggregate(m=Min("due_at"))["m"]
               if database else None)
    body = {
        "database": "ok" if database else "unavailable",
        "broker": "ok" if _broker_ok() else "unavailable",
        "oldest_undelivered_change_seconds": (
            round((now - oldest).total_seconds(), 3) if oldest else None
        ),
        "oldest_overdue_timer_seconds": round((now - overdue).total_seconds(), 3) if overdue else None,
        "parked_changes": parked,
        # Channel messages still owed, and those out of attempts (an operator replays them from the admin).
        "channel_deliveries_pending": capped_count(ChannelDelivery.objects.filter(status="pending"))
        if database else None,
        "channel_deliveries_failed": capped_count(ChannelDelivery.objects.filter(status="failed"))
        if database else None,
    }
    healthy = body["database"] == "ok" and body["broker"] == "ok"
    # Parked changes make the status "degraded" but keep the probe passing (200): this process serves and
    # routes fine, a restart would not unpark them, and failing the probe would take the site down over one
    # poison change. They need an operator (admin, changes_replay); /metrics alerts on the gauge.
    status = "ok" if healthy and not parked else "degraded"
    return JsonResponse({"status": status, **body}, status=200 if healthy else 503)
