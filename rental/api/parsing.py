"""Reading requests by hand, for the blueprints not yet typed: JSON bodies and path parts
become the typed values a command is built from, or a 4xx that says which field was wrong.

Typed blueprints (rental.api.contract) declare their requests as models instead; the
helpers here go as the last of the others do.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from flask import request

from rental.domain.errors import InvalidInput, NotFound


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", "invalid_json")
    return body


def json_body_or_empty() -> dict[str, Any]:
    """For requests whose fields are all optional: no body, or not an object, is empty."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def string(
    body: Mapping[str, Any],
    name: str,
    message: str,
    code: str | None = None,
    *,
    default: str | None = None,
) -> str:
    """`body[name]` as a string (`default` when absent), or `message` as the 400."""
    value = body.get(name, default)
    if not isinstance(value, str):
        raise InvalidInput(message, code)
    return value


def optional_string(
    body: Mapping[str, Any], name: str, message: str, code: str | None = None
) -> str | None:
    """A string or null (or absent: None)."""
    return None if body.get(name) is None else string(body, name, message, code)


def is_integer(value: object) -> bool:
    """JSON's true and false are no numbers, though Python's bool is an int."""
    return isinstance(value, int) and not isinstance(value, bool)


def integer(body: Mapping[str, Any], name: str, message: str, code: str | None = None) -> int:
    """`body[name]` as an integer (never a boolean), or `message` as the 400."""
    value = body.get(name)
    if not is_integer(value):
        raise InvalidInput(message, code)
    assert isinstance(value, int)
    return value


def path_uuid(value: str, what: str) -> uuid.UUID:
    """An id in the path that is no UUID names nothing: 404, like an id that is not ours."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {what}", f"{what}_not_found") from None
