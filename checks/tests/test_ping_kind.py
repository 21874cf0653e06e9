"""The ping kind: ICMP echo over an unprivileged datagram socket, or a clear error where the kernel refuses it."""

import os
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from checks.probes import probe_run
from checks.probes.icmp import NOT_ALLOWED

from .config_factories import make_check
from .run_support import make_checked_system

pytestmark = pytest.mark.django_db


def unprivileged_icmp_allowed() -> bool:
    """What the kernel says: the process's group within net.ipv4.ping_group_range."""
    path = Path("/proc/sys/net/ipv4/ping_group_range")
    if not path.exists():
        return False
    low, high = (int(n) for n in path.read_text().split())
    return low <= os.getgid() <= high


def test_a_ping_check_needs_a_host_and_refuses_metadata_addresses():
    system = make_checked_system()
    with pytest.raises(ValidationError) as missing:
        make_check(system, kind="ping", host="")
    assert missing.value.message_dict == {"host": ["A ping check needs this field."]}
    with pytest.raises(ValidationError) as refused:
        make_check(system, name="meta", kind="ping", host="169.254.169.254")
    assert list(refused.value.message_dict) == ["host"]


def test_ping_loopback_answers_or_says_the_kernel_forbids_it():
    check = make_check(make_checked_system(), kind="ping", host="127.0.0.1", timeout_seconds=2)

    outcome = probe_run(check)

    if unprivileged_icmp_allowed():
        assert (outcome.ok, outcome.error) == (True, "")
        assert outcome.latency_ms is not None and outcome.latency_ms < 1000
    else:
        assert (outcome.ok, outcome.error, outcome.latency_ms) == (False, NOT_ALLOWED, None)


def test_ping_refuses_a_metadata_name_at_run_time_too():
    check = make_check(make_checked_system(), kind="ping", host="127.0.0.1")
    check.host = "metadata.google.internal"
    outcome = probe_run(check)
    assert not outcome.ok and outcome.error.startswith("refused")
