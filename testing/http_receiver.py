"""A real local HTTP receiver for tests: records every request (path, headers, JSON body).

Runs in a thread of the test process on 127.0.0.1; `delay_first` makes the first request hang so a test can kill the
worker that sent it; `delay_each` makes every request take that long to answer; `trickle_seconds` answers every request
one byte a second for that long (each request's start and end are recorded, so a test can tell whether two were served
at once).
`script` answers the first requests in turn (a status, or (status, headers)), then `status`; `reply` is
the body of every answer (what a service says back).
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, *, delay_first: float = 0.0, status: int = 200, trickle_seconds: float = 0.0,
                 delay_each: float = 0.0, script=(), reply: bytes = b""):
        self.requests: list[dict] = []
        self.delay_first, self.status, self.trickle_seconds = delay_first, status, trickle_seconds
        self.delay_each = delay_each
        self.script, self.reply = list(script), reply
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    parsed = json.loads(body or b"null")
                except ValueError:
                    parsed = None
                record = {"path": self.path, "headers": dict(self.headers), "body": parsed, "raw": body,
                          "started": time.monotonic(), "ended": None}
                with receiver._lock:
                    receiver.requests.append(record)
                    first = len(receiver.requests) == 1
                    answer = receiver.script.pop(0) if receiver.script else receiver.status
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                if first and receiver.delay_first:
                    time.sleep(receiver.delay_first)
                if receiver.delay_each:
                    time.sleep(receiver.delay_each)
                if receiver.trickle_seconds:
                    self._trickle(receiver.trickle_seconds)
                else:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(receiver.reply)))
                    self.end_headers()
                    self.wfile.write(receiver.reply)
                record["ended"] = time.monotonic()

            def _trickle(self, seconds: float):
                reply = f"HTTP/1.1 {receiver.status} OK\r\nContent-Length: 0\r\n\r\n".encode()
                stop = time.monotonic() + seconds
                padding = b"X-Slow: " + b"." * int(seconds + 1)  # a header line long enough to last
                for byte in reply[:-2] + padding + b"\r\n\r\n":
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return  # the sender hung up (what a deadline does)
                    if time.monotonic() < stop:
                        time.sleep(1)

            do_PUT = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def overlapping(self) -> list[tuple[tuple, tuple]]:
        """Pairs of requests with the same Idempotency-Key that were being served at the same time."""
        with self._lock:
            spans = [(r["headers"].get("Idempotency-Key"), r["started"], r["ended"] or time.monotonic())
                     for r in self.requests]
        return [(a, b) for i, a in enumerate(spans) for b in spans[i + 1:]
                if a[0] == b[0] and a[1] < b[2] and b[1] < a[2]]

    def idempotency_keys(self) -> list[str]:
        with self._lock:
            return [r["headers"].get("Idempotency-Key") for r in self.requests]
