from django.urls import include, path

from . import views

pages = [
    path("systems/<uuid:pk>/", views.system, name="system"),
    path("incidents/<uuid:pk>/", views.incident, name="incident"),
    path("maintenance/<uuid:pk>/", views.maintenance, name="maintenance"),
    path("history/", views.history, name="history"),
    path("feed.atom", views.feed_atom, name="feed-atom"),
    path("feed.rss", views.feed_rss, name="feed-rss"),
    path("maintenance.ics", views.maintenance_ics, name="maintenance-ics"),
    path("summary.json", views.summary_json, name="summary"),
    path("badge/<uuid:pk>.svg", views.badge_status, name="badge-status"),
    path("badge/<uuid:pk>/uptime.svg", views.badge_uptime, name="badge-uptime"),
]

# The page itself is "status" at the top level (emails, the root redirect and other apps link to it by that
# name); the pages around it are in the "statuspage" namespace.
urlpatterns = [path("", views.status, name="status"), path("", include((pages, "statuspage")))]
