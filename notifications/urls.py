from django.urls import path, register_converter

from . import views


class LinkTokenConverter:
    """A link secret's shape (URL-safe base64, as `new_subscriber_token` makes them).

    Anything else — a NUL byte, a slash, a header-unsafe or overlong string — is a 404 before any query
    (PostgreSQL rejects a NUL in a text parameter: it would otherwise be a 500).
    """

    regex = r"[A-Za-z0-9_-]{20,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LinkTokenConverter, "link_token")

app_name = "notifications"

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("sent/", views.sent, name="sent"),
    path("confirm/<link_token:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<link_token:token>/", views.unsubscribe, name="unsubscribe"),
]
