"""The edge of input: JSON bodies within depth and free of NUL, read without recursion."""

import json

import pytest

from rental.api.edge import RefusedJson, bounded_loads


def test_a_body_within_the_bounds_reads_as_json():
    body = json.dumps({"zones": [{"name": "east", "coordinates": [[[121.4, 31.2]]]}]})

    assert bounded_loads(body.encode(), 32)["zones"][0]["name"] == "east"


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_a_body_nested_past_the_limit_is_refused_however_deep(depth):
    with pytest.raises(RefusedJson, match="deeper than 32"):
        bounded_loads(b"[" * depth + b"]" * depth, 32)


def test_nesting_counts_objects_and_arrays_alike():
    exactly = b'{"a":' * 16 + b"[" * 16 + b"1" + b"]" * 16 + b"}" * 16

    assert bounded_loads(exactly, 32) is not None
    with pytest.raises(RefusedJson):
        bounded_loads(b"[" + exactly + b"]", 32)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b'{"phone": "1\\u0000"}', ("phone",)),
        (b'{"zones": [{"name": "a\\u0000b"}]}', ("zones", 0, "name")),
        (b'{"a\\u0000": 1}', ("a\x00",)),
    ],
)
def test_a_nul_in_any_string_or_key_is_refused_with_where_it_was(body, path):
    with pytest.raises(RefusedJson) as refused:
        bounded_loads(body, 32)

    assert refused.value.path == path


@pytest.mark.parametrize("body", [b'{"name": "a\\ud800b"}', b'{"name": "a\xed\xa0\x80b"}'])
def test_a_lone_surrogate_is_refused_as_it_could_not_be_stored(body):
    with pytest.raises(RefusedJson) as refused:
        bounded_loads(body, 32)

    assert refused.value.path == ("name",)


def test_an_escaped_backslash_before_u0000_is_no_nul():
    assert bounded_loads(b'{"note": "C:\\\\u0000"}', 32) == {"note": "C:\\u0000"}


@pytest.mark.parametrize("body", [b'{"a": NaN}', b"[Infinity]", b"{bad", b"\xff"])
def test_what_is_not_json_is_a_value_error(body):
    with pytest.raises(ValueError):
        bounded_loads(body, 32)
