"""The simulator's truck crews talk to a platform on this machine only."""

import pytest

from simulator.trucks import TruckCrews, is_loopback


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000/", True),
        ("http://[::1]:8000", True),
        ("http://example.com", False),
        ("http://127.0.0.1.example.com", False),
        ("ftp://127.0.0.1", False),
    ],
)
def test_only_loopback_addresses_are_driven_to(url, allowed):
    assert is_loopback(url) is allowed


def test_a_crew_refuses_a_platform_elsewhere():
    with pytest.raises(ValueError):
        TruckCrews({}, "http://10.0.0.5:8000", "token")
