"""Notification channels: chat, pager and signed-webhook destinations that hear about changes exactly once."""
