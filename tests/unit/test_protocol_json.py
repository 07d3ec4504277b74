"""A lock's report means the same whichever JSON reader took it: the protocol reads with
orjson first and falls back to json for what orjson refuses (protocol.py `_parsed_json`).
Each decoder is run twice, once as it is and once with json alone, on payloads built to
land on the differences: NaN and Infinity, huge integers, lone surrogates, UTF-16, a
byte-order mark, duplicate keys, deep nesting, and plain reports."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rental.adapters.locks import protocol
from rental.adapters.locks.protocol import (
    LockTopic,
    ProtocolError,
    decode_event,
    decode_status,
    decode_telemetry,
)

NOW = 1_800_000_000_000
FIELDS = ["v", "boot", "seq", "ts", "lon", "lat", "locked", "battery_pct", "accuracy_m",
          "latch_ts", "type", "cmd_id", "reason", "slot", "item", "state"]  # fmt: skip
# Literal JSON values, as a lock might write them, valid or not.
VALUES = [
    "1", "0", "-1", "7", "3", str(NOW), str(NOW + 5), "2", "100", "101", "9007199254740991",
    "9007199254740992", "18446744073709551616", "-18446744073709551617",
    "123456789012345678901234567890", "1e400", "-1e400", "NaN", "Infinity", "-Infinity",
    "121.47", "31.23", "-0.0", "5e-324", "1.0000000000000002", "true", "false", "null",
    '"unlocked"', '"locked"', '"online"', '"offline"', '"c-1"', '"\\ud800"', '"\\u0000"',
    '"é"', "[]", "{}", '"x"',
]  # fmt: skip


def report_text(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f'"{key}":{value}' for key, value in pairs) + "}"


def encodings(text: str) -> list[bytes]:
    return [text.encode(), text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode()]


def outcome(decode: Callable[[bytes], Any], payload: bytes) -> Any:
    try:
        return ("kept", decode(payload))
    except ProtocolError as error:
        return ("refused", str(error))


def json_only(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("payload is not JSON") from exc


def same_either_way(payload: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    for decode in (decode_telemetry, decode_event, decode_status):
        both = outcome(decode, payload)
        with monkeypatch.context() as patched:
            patched.setattr(protocol, "_parsed_json", json_only)
            alone = outcome(decode, payload)
        # NaN != NaN: compare the texts, which name every field and its value.
        assert repr(both) == repr(alone), payload


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pairs=st.lists(st.tuples(st.sampled_from(FIELDS), st.sampled_from(VALUES)), max_size=12),
    encoding=st.sampled_from([0, 1, 2]),
)
def test_a_report_means_the_same_to_either_reader(pairs, encoding, monkeypatch):
    text = report_text([("v", "1"), *pairs])
    same_either_way(encodings(text)[encoding], monkeypatch)


@pytest.mark.parametrize(
    "text",
    [
        f'{{"v":1,"boot":1,"seq":2,"ts":{NOW},"lon":NaN,"lat":31.2,"locked":true}}',
        f'{{"v":1,"boot":1,"seq":2,"ts":{NOW},"lon":121.4,"lat":31.2,"locked":true,'
        '"battery_pct":123456789012345678901234567890}',
        '{"v":1,"boot":18446744073709551616,"seq":2,"locked":true}',
        '{"v":1,"boot":1,"seq":2,"locked":true,"boot":3}',
        '{"v":1,"boot":1,"seq":2,"type":"fault","reason":"\\ud800"}',
        "[" * 5000 + "]" * 5000,
        # Under the size limit, deeper than json reads on Python 3.11, not orjson.
        '{"v":1,"state":"online","boot":1,"x":' + "[" * 1000 + "]" * 1000 + "}",
        '{"v":1,"boot":1,"seq":2,"locked":true,"x":' + "[" * 900 + "]" * 900 + "}",
        "not json",
        "",
    ],
)
def test_the_differences_between_the_readers_read_alike(text, monkeypatch):
    for payload in encodings(text):
        same_either_way(payload, monkeypatch)


def test_a_topic_is_parsed_once_and_a_bad_one_refused_every_time():
    first = LockTopic.parse("lock/v1/L-cached/telemetry")
    assert LockTopic.parse("lock/v1/L-cached/telemetry") is first
    for _ in range(2):
        with pytest.raises(ProtocolError, match="invalid lock id"):
            LockTopic.parse("lock/v1/L$1/telemetry")
