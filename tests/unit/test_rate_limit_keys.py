"""Whom each request counts against, and the limits' table checked when the app is made.
No services: the app counts in memory here and no view that reads the database runs."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from rental.api import limits
from rental.api.auth import issue_access_token
from rental.app import create_app
from rental.config import parsed_setting
from rental.domain.riders import Role, User
from rental.domain.sessions import Session
from rental.services.sessions import IssuedTokens

SETTINGS = {
    "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/never-connected",
    "MQTT_URL": "",
    "SECRET_KEY": "unit-test-key",
    "RATELIMIT_STORAGE_URI": "memory://",
    "TRUSTED_PROXY_COUNT": 0,
}


def make_app(**settings: Any) -> Flask:
    return create_app({**SETTINGS, **settings})


@pytest.fixture
def app() -> Flask:
    return make_app()


def key_for(app: Flask, key: Any, **request: Any) -> str:
    with app.test_request_context("/api/v1/auth/token", method="POST", **request):
        return str(key())


def test_an_ipv6_client_counts_by_its_64_and_an_ipv4_one_by_its_address(app):
    one = key_for(app, limits.by_address, environ_base={"REMOTE_ADDR": "2001:db8:1:2:a::1"})
    same = key_for(app, limits.by_address, environ_base={"REMOTE_ADDR": "2001:db8:1:2:b::9"})
    other = key_for(app, limits.by_address, environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"})
    assert one == same == "address:2001:db8:1:2::/64"
    assert other == "address:2001:db8:1:3::/64"
    mapped = key_for(app, limits.by_address, environ_base={"REMOTE_ADDR": "::ffff:192.0.2.7"})
    assert mapped == "address:192.0.2.7"


def test_a_phone_counts_once_however_it_is_written_and_is_not_stored_in_clear(app):
    keys = {
        key_for(app, limits.by_phone, json={"phone": written, "password": "x"})
        for written in ("13800000001", "138 0000 0001", "138-0000-0001")
    }
    assert len(keys) == 1
    [key] = keys
    assert key.startswith("phone:") and "13800000001" not in key
    assert key_for(app, limits.by_phone, json={"phone": "13800000002"}) != key


@pytest.mark.parametrize(
    "request_body",
    [
        {"data": "not json", "content_type": "application/json"},
        {"json": ["a", "list"]},
        {"json": {"phone": ["13800000001"]}},
        {"json": {"password": "no phone"}},
        {"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"},
    ],
)
def test_a_sign_in_without_a_readable_phone_counts_against_its_address(app, request_body):
    key = key_for(app, limits.by_phone, environ_base={"REMOTE_ADDR": "192.0.2.1"}, **request_body)
    assert key == "no-phone:192.0.2.1"


def test_a_phone_that_is_no_valid_text_counts_against_its_address(app):
    # The edge refuses the body (rental.api.edge), so no phone can be read from it.
    body = b'{"phone": "\\ud800\\u0000", "password": "x"}'
    key = key_for(
        app,
        limits.by_phone,
        environ_base={"REMOTE_ADDR": "192.0.2.1"},
        data=body,
        content_type="application/json",
    )
    assert key == "no-phone:192.0.2.1"


def test_a_valid_token_counts_against_its_user_and_a_forged_one_against_the_address(app):
    user = User(uuid.uuid4(), "13800000001", "Ada", Role.RIDER, "hash")
    now = datetime.now(UTC)
    session = Session(uuid.uuid4(), user.id, user.role, now, now + timedelta(days=30))
    with app.app_context():
        token = issue_access_token(IssuedTokens(session, "refresh", now + timedelta(minutes=15)))
    address = {"REMOTE_ADDR": "192.0.2.1"}
    signed = key_for(
        app, limits.by_account, environ_base=address, headers={"Authorization": f"Bearer {token}"}
    )
    assert signed == f"user:{user.id}"
    forged = key_for(
        app,
        limits.by_account,
        environ_base=address,
        headers={"Authorization": f"Bearer {token[:-2]}xx"},
    )
    assert forged == "address:192.0.2.1"
    other_key = make_app(SECRET_KEY="another deployment")
    elsewhere = key_for(
        other_key,
        limits.by_account,
        environ_base=address,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert elsewhere == "address:192.0.2.1"


@pytest.mark.parametrize(("proxies", "seen"), [(0, "198.51.100.1"), (1, "203.0.113.5")])
def test_x_forwarded_for_is_believed_only_behind_a_trusted_proxy(proxies, seen):
    app = make_app(TRUSTED_PROXY_COUNT=proxies)
    app.add_url_rule("/who", "who", lambda: limits.client_address())
    answer = app.test_client().get(
        "/who",
        headers={"X-Forwarded-For": "10.0.0.1, 203.0.113.5"},
        environ_base={"REMOTE_ADDR": "198.51.100.1"},
    )
    assert answer.text == seen  # the last proxy's, not whatever the client wrote first


def test_a_limit_on_an_endpoint_the_app_lacks_stops_the_app(monkeypatch):
    monkeypatch.setitem(limits.LIMITS_BY_ENDPOINT, "riders.no_view", (limits.SIGN_IN_PER_PHONE,))
    with pytest.raises(ValueError, match=r"riders\.no_view"):
        make_app()


def test_a_malformed_limit_stops_the_app():
    with pytest.raises(ValueError, match="RATE_LIMIT_SCANS"):
        make_app(RATE_LIMIT_SCANS="ten a minute")


def test_boolean_settings_read_from_the_environment():
    assert parsed_setting("0", True) is False
    assert parsed_setting("true", False) is True
    assert parsed_setting("12", 5) == 12
    assert parsed_setting("5/minute", "") == "5/minute"
