"""A total deadline for an outside call (HTTP, SMTP): its socket is shut down when the deadline passes.

A socket timeout bounds one read or write, so a receiver that trickles a byte a second never trips it and
keeps the call alive for ever. Checking a clock between reads does not help either: the status line and
headers are read a line at a time inside http.client and smtplib. So a watchdog thread shuts the socket
down at the deadline, whatever the call is blocked in; the blocked read then returns or raises at once.
"""

import socket
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator


class Cutoff:
    """Whether the watchdog cut the call off."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.cut = False

    @property
    def passed(self) -> bool:
        """The deadline has passed (a socket timeout may have fired a moment before the watchdog did)."""
        return self.cut or time.monotonic() >= self.deadline


def seconds_left(deadline: float) -> float:
    return deadline - time.monotonic()


def _shut_down(sock: socket.socket) -> None:
    # The plain socket's shutdown, even on an SSL socket: SSLSocket.shutdown() would first drop the TLS
    # state the blocked thread is reading with. On a socket closed meanwhile it raises EBADF, never
    # touching a descriptor number reused since.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # closed already: nothing left to cut


@contextmanager
def cut_off_at(deadline: float, current_socket: Callable[[], socket.socket | None]) -> Iterator[Cutoff]:
    """Shut down the socket `current_socket()` returns once the monotonic `deadline` passes.

    The watchdog is stopped and joined on the way out. Before the socket exists (while connecting) there
    is nothing to shut down: connect with a socket timeout of the time left.
    """
    cutoff = Cutoff(deadline)

    def cut() -> None:
        sock = current_socket()
        if sock is not None:
            cutoff.cut = True
            _shut_down(sock)

    watchdog = threading.Timer(max(0.0, seconds_left(deadline)), cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield cutoff
    finally:
        watchdog.cancel()
        watchdog.join()
