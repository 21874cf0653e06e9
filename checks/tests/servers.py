"""Real local servers for check tests: an HTTP server whose answer a test changes at will, a TCP listener.

Each runs in a thread of the test process on 127.0.0.1 and records what it received.
"""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HttpTarget:
    """Answers every request with `status` and `body` after `delay` seconds; `up = False` answers 503."""

    def __init__(self, *, status: int = 200, body: bytes = b"ok", delay: float = 0.0, headers: dict | None = None):
        self.status, self.body, self.delay, self.up = status, body, delay, True
        self.extra_headers = headers or {}
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, with_body: bool):
                with target._lock:
                    target.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                            "at": time.monotonic()})
                if target.delay:
                    time.sleep(target.delay)
                status = target.status if target.up else 503
                self.send_response(status)
                for name, value in target.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(target.body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(target.body)

            def do_GET(self):  # http.server's naming
                self._answer(True)

            def do_POST(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()


class TcpListener:
    """Accepts connections on a free port of 127.0.0.1 (the kernel completes the handshake)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.sock.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SilentServer:
    """Accepts TCP connections and never answers: a server that would pin a worker without a deadline."""

    def __init__(self):
        self.listener = TcpListener()
        self.port = self.listener.port
        self.url = f"http://127.0.0.1:{self.port}"
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.sock.accept()
            except OSError:
                return
            self._held.append(conn)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self.listener.sock.close()
        for conn in self._held:
            conn.close()


class BannerServer:
    """Greets each connection with one line and closes it, as an SSH daemon does before any request."""

    def __init__(self, banner: bytes):
        self.banner = banner
        self.listener = TcpListener()
        self.port = self.listener.port
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.banner)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self.listener.sock.close()
