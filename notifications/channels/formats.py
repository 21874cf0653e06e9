"""Each kind's request for a message: where it goes, its body in the service's format, its headers (pure).

Every body says what happened, to which systems, and links to the status page. Every request carries the
message's id as `Idempotency-Key`, the same on every retry, so a duplicate after a lost worker is
recognisable; a signed webhook carries it as `webhook-id` (the Standard Webhooks scheme, via the
`standardwebhooks` library, which signs and leaves the sending to our egress guard and deadline).
"""

import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from standardwebhooks.webhooks import Webhook

from .models import ChannelKind


@dataclass(frozen=True)
class Outbound:
    """An HTTP request to send (`url` may hold a credential: never log it)."""

    url: str
    body: bytes
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundEmail:
    to: list[str]
    subject: str
    body: str
    headers: dict = field(default_factory=dict)


def _systems(message: dict) -> str:
    return ", ".join(message["systems"]) or "—"


def _plain(message: dict) -> str:
    """The message as plain text: what happened, the systems, the link."""
    lines = [message["title"]]
    if message["text"]:
        lines.append(message["text"])
    if message["systems"]:
        lines.append(f"Systems: {_systems(message)}")
    lines.append(message["url"])
    return "\n".join(lines)


def _mrkdwn(text: str) -> str:
    # Slack's mrkdwn has three control characters; escaped, a title cannot forge a link or a mention.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(config: dict, message: dict) -> tuple[str, dict]:
    fields = [{"type": "mrkdwn", "text": f"*Systems*\n{_mrkdwn(_systems(message))}"},
              {"type": "mrkdwn", "text": f"*Event*\n{message['event']}"}]
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": message["title"][:150]}}]
    if message["text"]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(message["text"])[:3000]}})
    blocks += [{"type": "section", "fields": fields},
               {"type": "actions", "elements": [{"type": "button", "url": message["url"],
                                                  "text": {"type": "plain_text", "text": "Status page"}}]}]
    return config["url"], {"text": _plain(message), "blocks": blocks}


def teams(config: dict, message: dict) -> tuple[str, dict]:
    # A Workflows "post to a channel when a webhook request is received" flow takes Adaptive Card attachments.
    body = [{"type": "TextBlock", "text": message["title"], "weight": "Bolder", "size": "Medium", "wrap": True}]
    if message["text"]:
        body.append({"type": "TextBlock", "text": message["text"], "wrap": True})
    body.append({"type": "FactSet", "facts": [{"title": "Systems", "value": _systems(message)},
                                              {"title": "Event", "value": message["event"]}]})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body,
            "actions": [{"type": "Action.OpenUrl", "title": "Status page", "url": message["url"]}]}
    return config["url"], {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


DISCORD_COLOURS = {"critical": 0xD93025, "error": 0xE8710A, "warning": 0xF9AB00, "info": 0x1A73E8}


def discord(config: dict, message: dict) -> tuple[str, dict]:
    embed = {"title": message["title"][:256], "description": message["text"][:4096], "url": message["url"],
             "color": 0x188038 if message["resolved"] else DISCORD_COLOURS.get(message["severity"], 0x1A73E8),
             "fields": [{"name": "Systems", "value": _systems(message)[:1024]}]}
    # No @everyone or role pings from a title someone typed.
    return config["url"], {"embeds": [embed], "allowed_mentions": {"parse": []}}


def mattermost(config: dict, message: dict) -> tuple[str, dict]:
    text = (f"#### {message['title']}\n{message['text']}\n**Systems:** {_systems(message)}\n"
            f"[Status page]({message['url']})")
    body = {"text": text, **{k: config[k] for k in ("channel", "username") if config.get(k)}}
    return config["url"], body


def telegram(config: dict, message: dict) -> tuple[str, dict]:
    text = "\n".join(filter(None, [f"<b>{html.escape(message['title'])}</b>", html.escape(message["text"]),
                                   f"Systems: {html.escape(_systems(message))}",
                                   f'<a href="{html.escape(message["url"])}">Status page</a>']))
    url = f"{config['url'].rstrip('/')}/bot{config['bot_token']}/sendMessage"
    return url, {"chat_id": config["chat_id"], "text": text[:4096], "parse_mode": "HTML",
                 "disable_web_page_preview": True}


def pagerduty(config: dict, message: dict) -> tuple[str, dict]:
    # dedup_key: the incident's id, so the trigger and its resolve (and every update between) are one alert.
    if message["resolved"]:
        return config["url"], {"routing_key": config["routing_key"], "event_action": "resolve",
                               "dedup_key": message["key"]}
    payload = {"summary": message["title"][:1024], "source": "checkstack", "severity": message["severity"],
               "custom_details": {"text": message["text"], "systems": message["systems"], "event": message["event"]}}
    return config["url"], {"routing_key": config["routing_key"], "event_action": "trigger",
                           "dedup_key": message["key"], "payload": payload,
                           "links": [{"href": message["url"], "text": "Status page"}]}


OPSGENIE_PRIORITIES = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P5"}


def opsgenie(config: dict, message: dict) -> tuple[str, dict]:
    base = config["url"].rstrip("/")
    alias = message["key"][:512]
    if message["resolved"]:
        return (f"{base}/v2/alerts/{quote(alias, safe='')}/close?identifierType=alias",
                {"source": "Checkstack", "note": message["title"]})
    return f"{base}/v2/alerts", {
        "message": message["title"][:130], "alias": alias, "description": _plain(message)[:15000],
        "priority": OPSGENIE_PRIORITIES.get(message["severity"], "P3"), "source": "Checkstack",
        "details": {"systems": _systems(message), "event": message["event"], "status_page": message["url"]}}


NTFY_PRIORITIES = {"critical": 5, "error": 4, "warning": 3, "info": 3}


def ntfy(config: dict, message: dict) -> tuple[str, dict]:
    text = "\n".join(filter(None, [message["text"], f"Systems: {_systems(message)}"]))
    return config["url"], {"topic": config["topic"], "title": message["title"], "message": text,
                           "priority": 3 if message["resolved"] else NTFY_PRIORITIES.get(message["severity"], 3),
                           "click": message["url"]}


def webhook(config: dict, message: dict) -> tuple[str, dict]:
    return config["url"], {"type": message["event"], "timestamp": message["occurred_at"] or _now().isoformat(),
                           "data": message}


def _now() -> datetime:
    return datetime.now(UTC)


BUILDERS = {
    ChannelKind.SLACK: slack, ChannelKind.TEAMS: teams, ChannelKind.DISCORD: discord,
    ChannelKind.MATTERMOST: mattermost, ChannelKind.TELEGRAM: telegram, ChannelKind.PAGERDUTY: pagerduty,
    ChannelKind.OPSGENIE: opsgenie, ChannelKind.NTFY: ntfy, ChannelKind.WEBHOOK: webhook,
}


def auth_headers(kind: str, config: dict) -> dict:
    if kind == ChannelKind.OPSGENIE:
        return {"Authorization": f"GenieKey {config['api_key']}"}
    if kind == ChannelKind.NTFY and config.get("token"):
        return {"Authorization": f"Bearer {config['token']}"}
    return {}


def build_request(kind: str, config: dict, message: dict, message_id: str) -> Outbound | OutboundEmail:
    """The request that delivers `message` through a channel of `kind` with this (full) config."""
    if kind == ChannelKind.EMAIL:
        return OutboundEmail(to=list(config["addresses"]), subject=" ".join(message["title"].split())[:200],
                             body=_plain(message), headers={"X-Checkstack-Message-Id": message_id})
    url, body = BUILDERS[kind](config, message)
    payload = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": message_id, **auth_headers(kind, config)}
    if kind == ChannelKind.WEBHOOK:
        # Signed at each attempt with the attempt's time (receivers refuse stale timestamps); same id throughout.
        now = _now()
        headers.update({"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
                        "webhook-signature": Webhook(config["secret"]).sign(message_id, now, payload)})
    return Outbound(url=url, body=payload, headers=headers)
