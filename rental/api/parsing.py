"""Reading requests at the edge: JSON bodies, path parts and query strings become the typed
values a command is built from, or a 4xx that says which field was wrong.

Each helper checks one field's type; the rules of the domain (asset codes, phone numbers,
amounts) are applied by the blueprints as they build a command, field by field in the
order a client has always been told about the first fault.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import request

from rental.domain.errors import InvalidInput, NotFound

MAX_IDEMPOTENCY_KEY_LENGTH = 64


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


def idempotency_key(body: Mapping[str, Any]) -> str:
    """Every call that can be retried carries a key; the same key answers the first result."""
    key = body.get("idempotency_key")
    if not isinstance(key, str) or not 8 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidInput(
            "idempotency_key must be a string of 8 to 64 characters (a fresh UUID per request)",
            "invalid_idempotency_key",
        )
    return key


def path_uuid(value: str, what: str) -> uuid.UUID:
    """An id in the path that is no UUID names nothing: 404, like an id that is not ours."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {what}", f"{what}_not_found") from None


def page_args(default_limit: int) -> tuple[int, datetime | None]:
    """`?limit=N&before=<ISO 8601 time>` for lists newest first."""
    try:
        limit = int(request.args.get("limit", default_limit))
        before = request.args.get("before")
        return limit, datetime.fromisoformat(before) if before else None
    except ValueError:
        raise InvalidInput(
            "limit is a number and before an ISO 8601 time", "invalid_query"
        ) from None


def query_number(
    args: Mapping[str, str], name: str, low: float, high: float, default: float | None = None
) -> float:
    """`?name=<number>` within [low, high]; `default` when absent, if there is one."""
    raw = args.get(name)
    if raw is None and default is not None:
        return default
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise InvalidInput(f"{name} must be a number from {low:g} to {high:g}", "invalid_query")
    return value


def required_query(name: str) -> str:
    value = request.args.get(name)
    if not value:
        raise InvalidInput(f"{name} is required", "invalid_query")
    return value
