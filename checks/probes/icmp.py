"""A ping check: one ICMP echo to the host answers within the timeout.

Unprivileged datagram ICMP only (icmplib with privileged=False): the worker needs no root and no raw-socket
capability, but the kernel must allow its group to open ICMP datagram sockets (Linux: the sysctl
`net.ipv4.ping_group_range`). Where it does not, every run fails with an error that says so. The host is
resolved and checked by checks/targets.py like any other target, and the echo goes to the checked address.
"""

import socket
import time

from icmplib import ICMPLibError, SocketPermissionError
from icmplib import ping as icmp_ping

from ..targets import TargetRefused, resolve_checked
from . import ProbeOutcome, describe_error

NOT_ALLOWED = ("this host does not allow unprivileged ICMP (Linux: the sysctl net.ipv4.ping_group_range must "
               "include the worker's group)")


def probe(check, *, deadline: float) -> ProbeOutcome:
    try:
        addresses = resolve_checked(check.host, 0, socktype=socket.SOCK_DGRAM)
    except TargetRefused as exc:
        return ProbeOutcome.failed(str(exc))
    except OSError as exc:
        return ProbeOutcome.failed(f"cannot resolve {check.host}: {describe_error(exc)}")
    family, sockaddr = addresses[0]
    timeout = max(0.1, deadline - time.monotonic())
    try:
        host = icmp_ping(sockaddr[0], count=1, timeout=timeout, privileged=False,
                         family=6 if family == socket.AF_INET6 else 4)
    except SocketPermissionError:
        return ProbeOutcome.failed(NOT_ALLOWED)
    except (ICMPLibError, OSError) as exc:
        return ProbeOutcome.failed(describe_error(exc))
    if not host.is_alive:
        return ProbeOutcome.failed(f"no echo reply within {check.timeout_seconds} s")
    return ProbeOutcome(ok=True, latency_ms=max(0, round(host.avg_rtt)))
