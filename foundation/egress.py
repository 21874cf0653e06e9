"""Outbound HTTP targets an automation may reach: refuse internal addresses, then connect to the checked one.

Server-side request forgery guard for `automation.webhook`. The host is resolved once, every address it
resolves to is checked, and the connection goes to a checked address (the URL's host still names the
server for the Host header, TLS SNI and certificate checks). Connecting by name again would resolve it
again, and a rebinding DNS server could then answer with an internal address the check never saw.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}


class TargetRefused(Exception):
    """The URL points somewhere automations may not send to."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[tuple[int, tuple], ...]  # (family, sockaddr) pairs, all checked


def parse_allowlist(entries) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """Host names and networks of an allow-list setting (a list, or one comma-separated string)."""
    if isinstance(entries, str):
        entries = entries.split(",")
    hosts, networks = set(), []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return hosts, networks


# NAT64 gateways (the well-known prefix, and RFC 8215's local-use one in its usual /96 layout) connect to the
# IPv4 address in the last 32 bits: 64:ff9b::a9fe:a9fe reaches 169.254.169.254.
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address spells (mapped, IPv4-compatible, NAT64, 6to4, Teredo), so it meets the
    IPv4 rules."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    spelled = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
    if spelled is not None:
        return spelled
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    # IPv4-compatible (::a.b.c.d, deprecated, still read as IPv4 by some stacks); :: and ::1 keep their own meaning.
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return low32
    return low32 if any(ip in network for network in NAT64_NETWORKS) else None


def forbidden_reason(ip: Address) -> str | None:
    """Why an address is internal (and refused unless allow-listed), or None for a public address."""
    embedded = embedded_ipv4(ip)
    if embedded is not None:
        return forbidden_reason(embedded)
    for reason, flag in [
        ("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast), ("private", ip.is_private), ("reserved", ip.is_reserved),
    ]:
        if flag:
            return reason
    return None if ip.is_global else "not globally routable"


def url_parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of an http(s) URL; raises TargetRefused when it has none."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise TargetRefused("the URL must be http:// or https:// with a host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise TargetRefused("the URL's port is not valid") from None
    path = parts.path or "/"
    return parts.scheme, parts.hostname.rstrip("."), port, f"{path}?{parts.query}" if parts.query else path


def resolve_target(url: str) -> Target:
    """Parse, resolve and check `url`; raises TargetRefused, or OSError when the host does not resolve."""
    scheme, host, port, path = url_parts(url)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    hosts, networks = parse_allowlist(settings.CHECKSTACK_WEBHOOK_ALLOWLIST)
    host_allowed = host.lower() in hosts
    addresses = []
    for family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        reason = None if host_allowed or any(ip in net for net in networks) else forbidden_reason(ip)
        if reason:
            # The host is not named: a URL may carry a secret, and urlsplit lower-cases the host, which
            # masking (exact values only) would then miss.
            raise TargetRefused(f"refused: the URL's host resolves to {ip} ({reason}); allow it with "
                                f"CHECKSTACK_WEBHOOK_ALLOWLIST")
        addresses.append((family, sockaddr))
    return Target(scheme, host, port, path, tuple(dict.fromkeys(addresses)))


def connect_any(addresses, timeout: float, *, deadline: float | None = None) -> socket.socket:
    """Connect to the first checked address that answers; with a monotonic `deadline`, all tries end by it."""
    error = OSError("no address to connect to")
    for family, sockaddr in addresses:
        if deadline is not None:
            timeout = min(timeout, deadline - time.monotonic())
            if timeout <= 0:
                raise TimeoutError("timed out connecting")
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


def open_connection(target: Target, *, timeout: float,
                    deadline: float | None = None) -> http.client.HTTPConnection:
    """An HTTP(S) connection to `target` that only ever connects to its checked addresses (by `deadline`)."""
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    # http.client's hook for opening the socket (HTTPS wraps it afterwards, verifying the host name):
    # connect to the addresses checked above instead of resolving the name again.
    connection._create_connection = lambda _address, conn_timeout, _source=None: connect_any(
        target.addresses, conn_timeout, deadline=deadline
    )
    return connection
