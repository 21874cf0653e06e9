"""A real local HTTP receiver for tests: records every request (path, headers, JSON body).

Runs in a thread of the test process on 127.0.0.1; `delay_first` makes the first request hang so a test
can kill the worker that sent it.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, *, delay_first: float = 0.0, status: int = 200):
        self.requests: list[dict] = []
        self.delay_first, self.status = delay_first, status
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": json.loads(body or b"null")})
                    first = len(receiver.requests) == 1
                if first and receiver.delay_first:
                    time.sleep(receiver.delay_first)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

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

    def idempotency_keys(self) -> list[str]:
        with self._lock:
            return [r["headers"].get("Idempotency-Key") for r in self.requests]
