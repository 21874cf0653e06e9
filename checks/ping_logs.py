"""Ping tokens kept out of log lines: a heartbeat's ping URL is a credential (anyone holding it reports the
system alive), and Django's request log, the development server and gunicorn's access log all print paths.

Imports nothing from the apps: LOGGING instantiates it before the app registry is ready.
"""

import logging
import re

# /ping/<token> anywhere in a line (a request line, a "Not Found: <path>", a referer).
PING_PATH = re.compile(r"(/ping/)[^/\s?#\"'<>]+")
REDACTED = r"\1<token>"


class PingTokenFilter(logging.Filter):
    """Replace the token of every /ping/<token> in a record's message; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = PING_PATH.sub(REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
