"""A DNS check: the name resolves (record type as set) and, if an answer is expected, some record matches it.

With a resolver address the query goes to that server and port directly (UDP, TCP when the answer is
truncated), which is also how tests point it at a local stub; the address passes the target guard. Without,
the system's resolvers answer. Either way the query ends by the check's deadline.
"""

import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from ..targets import refused_host_reason
from . import ProbeOutcome, describe_error, elapsed_ms


def _normalised(text: str) -> str:
    return text.strip().strip('"').lower().rstrip(".")


def record_texts(rdata) -> set[str]:
    """The forms an expected answer may take for one record (an MX matches by host or "pref host")."""
    if rdata.rdtype == dns.rdatatype.MX:
        return {_normalised(rdata.exchange.to_text()), _normalised(rdata.to_text())}
    if rdata.rdtype == dns.rdatatype.TXT:
        return {b"".join(rdata.strings).decode(errors="replace").strip().lower()}
    return {_normalised(rdata.to_text())}


def _ask_server(check, rdtype, deadline: float):
    query = dns.message.make_query(check.dns_name, rdtype)
    response, _tcp = dns.query.udp_with_fallback(query, check.dns_resolver, port=check.dns_resolver_port,
                                                 timeout=max(0.001, deadline - time.monotonic()))
    if response.rcode() != dns.rcode.NOERROR:
        raise LookupError(dns.rcode.to_text(response.rcode()))
    return [rdata for rrset in response.answer if rrset.rdtype == rdtype for rdata in rrset]


def _ask_system(check, rdtype, deadline: float):
    try:
        answer = dns.resolver.Resolver().resolve(check.dns_name, rdtype,
                                                 lifetime=max(0.001, deadline - time.monotonic()))
    except dns.resolver.NXDOMAIN:
        raise LookupError("NXDOMAIN") from None
    except dns.resolver.NoAnswer:
        return []
    return list(answer)


def probe(check, *, deadline: float) -> ProbeOutcome:
    if check.dns_resolver and (reason := refused_host_reason(check.dns_resolver)):
        return ProbeOutcome.failed(f"refused resolver: {reason}")
    rdtype = dns.rdatatype.from_text(check.dns_record_type)
    started = time.monotonic()
    try:
        ask = _ask_server if check.dns_resolver else _ask_system
        records = ask(check, rdtype, deadline)
    except LookupError as exc:
        return ProbeOutcome.failed(f"{check.dns_name} {check.dns_record_type}: {exc}", latency_ms=elapsed_ms(started))
    except dns.exception.Timeout:
        return ProbeOutcome.failed(f"timed out after {check.timeout_seconds} s", latency_ms=elapsed_ms(started))
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        return ProbeOutcome.failed(describe_error(exc), latency_ms=elapsed_ms(started))
    latency = elapsed_ms(started)
    if not records:
        return ProbeOutcome.failed(f"{check.dns_name} has no {check.dns_record_type} record", latency_ms=latency)
    expected = check.dns_expected.strip()
    if expected and not any(_normalised(expected) in record_texts(r) or expected.lower() in record_texts(r)
                            for r in records):
        return ProbeOutcome.failed(f"no {check.dns_record_type} record matches {expected!r}", latency_ms=latency)
    return ProbeOutcome(ok=True, latency_ms=latency)
