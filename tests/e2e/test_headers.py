"""The headers every answer carries (rental.api.headers): nosniff everywhere, a strict
Content-Security-Policy on HTML, and no caching of riders' data or tokens."""

import pytest

from tests.helpers import CITY


def test_riders_data_and_tokens_are_never_cached_and_never_sniffed(system):
    rider = system.rider()
    for answer in (
        system.get("/api/v1/me", rider),
        system.get("/api/v1/wallet", rider),
        system.get("/api/v1/rentals", rider),
        system.post("/api/v1/auth/token", {"phone": "13800000000", "password": "wrong one"}),
    ):
        assert answer.headers["Cache-Control"] == "no-store", answer.url
        assert answer.headers["X-Content-Type-Options"] == "nosniff", answer.url


@pytest.mark.parametrize(
    "path",
    [
        "/gbfs/v3/manifest.json",
        f"/gbfs/v3/{CITY}/system_information.json",
        "/no/such/page",
        "/web-config.json",
        "/app/sw.js",
        "/healthz",
    ],
)
def test_every_answer_is_nosniff(system, path):
    answer = system.http.get(f"{system.url}{path}")
    assert answer.status_code < 500
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/app/", "/ops/"])
def test_every_page_has_the_strict_policy(system, path):
    page = system.http.get(f"{system.url}{path}")
    assert page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
