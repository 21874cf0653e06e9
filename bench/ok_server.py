"""The monitored server of the check benches: a local HTTP server answering 200 "ok" on every path."""

import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def ok_server(answer_s: float = 0.0) -> ThreadingHTTPServer:
    """A server on a free port of 127.0.0.1 answering every GET after `answer_s`; the caller serves it."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # http.server's naming
            if answer_s:
                time.sleep(answer_s)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

        def handle_error(self, request, client_address):
            pass  # a client that hung up: nothing to report

    return Server(("127.0.0.1", 0), Handler)
