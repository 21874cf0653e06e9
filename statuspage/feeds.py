"""Atom and RSS feeds of the status page (Django's syndication framework): one entry per update.

An entry is one update of an incident or a maintenance window, newest first, the 50 newest; its link is the
update on the record's page and its id is the update's, so a reader never shows an entry twice.
"""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.translation import gettext as _

from .records import FeedEntry, feed_entries


class StatusRssFeed(Feed):
    feed_type = Rss201rev2Feed

    def title(self):
        return settings.CHECKSTACK_STATUS_NAME

    def link(self):
        return reverse("status")

    def description(self):
        return _("Incidents and maintenance of %(name)s") % {"name": settings.CHECKSTACK_STATUS_NAME}

    def items(self):
        return feed_entries()

    def item_title(self, entry: FeedEntry):
        status = entry.update.status_change or entry.parent.status
        return f"{entry.parent.title} ({status})"

    def item_description(self, entry: FeedEntry):
        return entry.update.message

    def item_link(self, entry: FeedEntry):
        name = "statuspage:incident" if entry.kind == "incident" else "statuspage:maintenance"
        return f"{reverse(name, args=[entry.parent.pk])}#update-{entry.update.pk}"

    def item_guid(self, entry: FeedEntry):
        return f"urn:uuid:{entry.update.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, entry: FeedEntry):
        return entry.update.created_at

    def item_updateddate(self, entry: FeedEntry):
        return entry.update.created_at

    def item_categories(self, entry: FeedEntry):
        return [entry.kind]


class StatusAtomFeed(StatusRssFeed):
    feed_type = Atom1Feed
    subtitle = StatusRssFeed.description
