import ipaddress

import pytest

from checks.targets import TargetRefused, refused_address_reason, refused_host_reason, resolve_checked


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "::1", "8.8.8.8", "fd12::1"])
def test_checks_may_reach_private_loopback_and_public_addresses(address, settings):
    settings.CHECKSTACK_CHECKS_ALLOWLIST = []
    assert refused_address_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254",
                                     "100.100.100.200", "0.0.0.0", "224.0.0.1", "::ffff:169.254.169.254",
                                     "::169.254.169.254", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe",
                                     "::100.100.100.200", "64:ff9b::a9fe:1"])
def test_metadata_link_local_unspecified_and_multicast_are_refused(address, settings):
    settings.CHECKSTACK_CHECKS_ALLOWLIST = []
    assert "CHECKSTACK_CHECKS_ALLOWLIST" in refused_address_reason(ipaddress.ip_address(address))


def test_the_allowlist_lets_a_network_or_a_host_through(settings):
    settings.CHECKSTACK_CHECKS_ALLOWLIST = ["169.254.0.0/16", "metadata.google.internal"]
    assert refused_address_reason(ipaddress.ip_address("169.254.169.254")) is None
    assert refused_host_reason("metadata.google.internal") is None
    assert refused_host_reason("fe80::1") is not None


def test_metadata_host_names_are_refused_before_resolving(settings):
    settings.CHECKSTACK_CHECKS_ALLOWLIST = []
    assert refused_host_reason("Metadata.Google.Internal.") is not None
    assert refused_host_reason("[fe80::1]") is not None
    assert refused_host_reason("example.com") is None


def test_resolve_checked_returns_checked_addresses_and_refuses_a_bad_one(settings):
    settings.CHECKSTACK_CHECKS_ALLOWLIST = []
    assert resolve_checked("127.0.0.1", 80)[0][1][:2] == ("127.0.0.1", 80)
    with pytest.raises(TargetRefused):
        resolve_checked("169.254.169.254", 80)
    # A numeric form the resolver reads as the metadata address passes as a name, and is refused as its address.
    with pytest.raises(TargetRefused, match=r"^refused: the host's address 169\.254\.169\.254 is link-local"):
        resolve_checked("0xa9fea9fe", 80)


@pytest.mark.parametrize("address, spelled", [("::169.254.169.254", "169.254.169.254"),
                                              ("64:ff9b::a9fe:a9fe", "169.254.169.254")])
def test_an_ipv4_compatible_or_nat64_spelling_is_refused_as_the_address_it_reaches(address, spelled, settings):
    settings.CHECKSTACK_CHECKS_ALLOWLIST = []
    reason = refused_address_reason(ipaddress.ip_address(address))
    assert reason == f"{ipaddress.ip_address(address)} is link-local; allow it with CHECKSTACK_CHECKS_ALLOWLIST"
    assert refused_host_reason(f"[{address}]") == reason
    with pytest.raises(TargetRefused, match="is link-local"):
        resolve_checked(address, 80)


@pytest.mark.parametrize("address", ["::1", "64:ff9b::a01:203", "64:ff9b::808:808", "::10.1.2.3"])
def test_ipv6_spellings_of_allowed_addresses_stay_allowed(address, settings):
    settings.CHECKSTACK_CHECKS_ALLOWLIST = []
    assert refused_address_reason(ipaddress.ip_address(address)) is None
