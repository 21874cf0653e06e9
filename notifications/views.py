"""The public subscription pages: subscribe, "check your email", confirm, unsubscribe.

Nothing here tells whether an address is subscribed: every accepted request gets the same redirect and runs
the same queries (see `subscriber_request`), and the email itself goes out from a worker.
"""

from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from catalog.models import System
from foundation.throttle import client_ip, throttle_hit

from . import conf
from .forms import SubscribeForm
from .models import Subscriber
from .subscribers import confirmation_pending, subscriber_confirm, subscriber_request, subscriber_unsubscribe

PUBLIC_ACTOR = "public"


def _too_many(request, form: SubscribeForm, retry_after: int):
    response = render(request, "notifications/subscribe.html", {"form": form, "throttled": True}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _throttled(scope: str, key: str, limit: int) -> int | None:
    return throttle_hit(scope=scope, key=key, limit=limit, window=conf.subscribe_limit_window())


@never_cache  # the form carries a CSRF token: no shared cache may keep it
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request):
    if request.method != "POST":
        # ?system=<name> and ?group=<name> tick a system or group in advance (for links to the form).
        form = SubscribeForm(initial={"systems": request.GET.getlist("system"), "groups": request.GET.getlist("group")})
        return render(request, "notifications/subscribe.html", {"form": form})
    form = SubscribeForm(request.POST)
    # Every post counts against the client, valid or not; only valid ones against the address.
    wait = _throttled("subscribe-client", client_ip(request), conf.subscribe_limit_per_client())
    if wait:
        return _too_many(request, form, wait)
    if not form.is_valid():
        return render(request, "notifications/subscribe.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    wait = _throttled("subscribe-address", email.strip().lower(), conf.subscribe_limit_per_address())
    if wait:
        return _too_many(request, form, wait)
    with transaction.atomic():
        subscriber_request(
            email=email, system_ids=[system.pk for system in form.cleaned_data["systems"]],
            group_ids=[group.pk for group in form.cleaned_data["groups"]], actor=PUBLIC_ACTOR
        )
    response = HttpResponseRedirect(reverse("notifications:sent"))
    response.status_code = 303  # see other: the browser GETs the result page
    return response


@require_safe
def sent(request):
    return render(request, "notifications/sent.html")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token: str):
    """GET shows what the link confirms; the button POSTs (a link scanner fetching the URL confirms nothing)."""
    subscriber = Subscriber.objects.filter(token=token).first()
    if subscriber is None:
        return render(request, "notifications/link_invalid.html", status=404)
    now, max_age = timezone.now(), conf.confirm_max_age()
    if request.method == "POST" and subscriber_confirm(
        subscriber=subscriber, now=now, max_age=max_age, actor=PUBLIC_ACTOR
    ):
        subscriber.refresh_from_db()
        return render(request, "notifications/confirmed.html", _followed(subscriber))
    if not confirmation_pending(subscriber, now=now, max_age=max_age):
        if subscriber.confirmed:
            return render(request, "notifications/confirmed.html", _followed(subscriber))
        return render(request, "notifications/link_invalid.html", {"expired": True}, status=410)
    followed = subscriber.systems.values_list("pk", flat=True)
    wanted = set(map(str, subscriber.requested_system_ids)) | {str(pk) for pk in followed}
    systems = System.objects.filter(pk__in=wanted).order_by("name").values_list("name", flat=True)
    return render(request, "notifications/confirm.html", {"email": subscriber.email, "systems": list(systems)})


def _followed(subscriber: Subscriber) -> dict:
    return {"email": subscriber.email, "systems": list(subscriber.systems.order_by("name").values_list("name",
                                                                                                       flat=True))}


# RFC 8058: mail providers POST `List-Unsubscribe=One-Click` here with no cookie and no CSRF token, so the
# view is exempt; the secret token in the URL is the authority (a forged cross-site POST cannot know it).
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    """GET shows a button (a mail scanner fetching the link unsubscribes nobody); POST unsubscribes.

    POST is idempotent: an unknown token gets the same page, so a repeated click or a provider's retry works.
    """
    if request.method == "POST":
        with transaction.atomic():
            subscriber_unsubscribe(token=token, actor=PUBLIC_ACTOR)
        return render(request, "notifications/unsubscribed.html")
    email = Subscriber.objects.filter(unsubscribe_token=token).values_list("email", flat=True).first()
    if email is None:
        return render(request, "notifications/link_invalid.html", status=404)
    return render(request, "notifications/unsubscribe.html", {"email": email})
