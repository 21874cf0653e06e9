"""Where a check may point: the one guard used when a check is saved and again when it runs.

Checks watch an operator's own systems, so private and loopback addresses are allowed (unlike automation
webhooks, foundation/egress.py). What stays refused is what no monitored system lives at and what
an attacker who may edit checks would aim for: cloud metadata services, link-local addresses, unspecified
and multicast addresses. CHECKSTACK_CHECKS_ALLOWLIST (host names, addresses, networks) lets one through.

A host name is resolved and every address it resolves to is checked at run time, and the probe connects to a
checked address: resolving again at connect time would let a rebinding DNS server swap in one never checked.
"""

import ipaddress
import socket

from django.conf import settings

from foundation.egress import Address, TargetRefused, embedded_ipv4, parse_allowlist

__all__ = ["TargetRefused", "refused_address_reason", "refused_host_reason", "resolve_checked"]

# Cloud metadata services outside link-local: AWS over IPv6, Alibaba, Azure's wire server, Oracle.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192",
))
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                            "instance-data.ec2.internal", "metadata.azure.internal"})


def _allowed(host: str | None, ip: Address | None) -> bool:
    hosts, networks = parse_allowlist(settings.CHECKSTACK_CHECKS_ALLOWLIST)
    if host is not None and host.lower().rstrip(".") in hosts:
        return True
    return ip is not None and any(ip in net for net in networks)


def _address_reason(ip: Address) -> str | None:
    embedded = embedded_ipv4(ip)
    if embedded is not None:
        return _address_reason(embedded)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for reason, flag in [("link-local", ip.is_link_local), ("unspecified", ip.is_unspecified),
                         ("multicast", ip.is_multicast)]:
        if flag:
            return reason
    return None


def refused_address_reason(ip: Address, *, host: str | None = None) -> str | None:
    """Why a check may not reach `ip` (reached by the name `host`), or None when it may."""
    reason = _address_reason(ip)
    if reason is None or _allowed(host, ip):
        return None
    return f"{ip} is {reason}; allow it with CHECKSTACK_CHECKS_ALLOWLIST"


def refused_host_reason(host: str) -> str | None:
    """Why a check may not name `host` (an address or a name, before resolving), or None when it may."""
    name = host.strip().strip("[]").lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        if name in METADATA_HOSTS and not _allowed(name, None):
            return f"{name} is a cloud metadata host; allow it with CHECKSTACK_CHECKS_ALLOWLIST"
        return None
    return refused_address_reason(ip)


def resolve_checked(host: str, port: int, *, socktype=socket.SOCK_STREAM) -> tuple[tuple[int, tuple], ...]:
    """Resolve `host` and check every address: (family, sockaddr) pairs to connect to.

    Raises TargetRefused when the name or any address is refused, OSError when the name does not resolve.
    """
    reason = refused_host_reason(host)
    if reason:
        raise TargetRefused(f"refused: {reason}")
    addresses = []
    for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host.strip("[]"), port, type=socktype):
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        reason = refused_address_reason(ip, host=host)
        if reason:
            raise TargetRefused(f"refused: the host's address {reason}")
        addresses.append((family, sockaddr))
    return tuple(dict.fromkeys(addresses))
