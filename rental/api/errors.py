"""The one place where errors become HTTP responses: JSON with a stable code, and the field
that was wrong when it was one field: `{"error": {"code", "message", "field"}}`.

A request that does not fit an endpoint's declared models (rental.api.contract) arrives
here as pydantic's ValidationError through `validation_failed`, and leaves like any other
InvalidInput: 400 naming the first field that was wrong.
"""

import logging
from typing import Any, NoReturn

from flask import Flask, Response, jsonify, request
from flask_limiter import RateLimitExceeded
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from rental.api.contract import ERROR_CODE, FIELD, explanation_of
from rental.api.limits import seconds_until_allowed
from rental.domain import errors

log = logging.getLogger(__name__)
MDS_PREFIX = "/mds/"

# The first class an error is an instance of wins: subclasses before their parents.
STATUS = {
    errors.TooLarge: 413,
    errors.UnsupportedType: 415,
    errors.InvalidInput: 400,
    errors.NotAuthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.NotAcceptable: 406,
    errors.Conflict: 409,
    errors.LimitReached: 429,
    errors.Unavailable: 503,
}


def error_body(
    status: int, code: str, message: str, field: str | None = None
) -> tuple[Response, int]:
    if request.path.startswith(MDS_PREFIX):  # MDS clients expect the spec's error shape
        return jsonify(error=code, error_description=message, error_details=[message]), status
    return jsonify(error={"code": code, "message": message, "field": field}), status


# What pydantic puts in an error's location besides the request's own names: which member
# of a union, or which validator, failed (`function-wrap[validate()]`, `datetime`, `none`).
SCHEMA_TAGS = frozenset(
    [
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "date",
        "datetime",
        "time",
        "timedelta",
        "decimal",
        "uuid",
        "none",
        "nullable",
        "url",
        "list",
        "dict",
        "set",
        "tuple",
        "any",
        "constrained-str",
        "lax-or-strict",
        "json-or-python",
    ]
)


def field_path(location: tuple[int | str, ...]) -> list[str]:
    """The parts of an error's location that the client wrote (`zones.0.name`, `from`):
    the tags pydantic adds for a union's member or a validator are left out."""
    path: list[str] = []
    for part in location:
        text = str(part)
        if path and (text in SCHEMA_TAGS or any(mark in text for mark in "[](),")):
            continue
        if path and text[:1].isupper():  # a union of models: the member's class name
            continue
        path.append(text)
    return path


def validation_failed(error: ValidationError) -> NoReturn:
    """flask-openapi3's validation_error_callback: the first failure, as our InvalidInput.

    A rule's own code and words (a domain check, `explained`) win, also when the field is
    missing; otherwise `invalid_<field>` in pydantic's words. A body that is no JSON object
    at all is `invalid_json`."""
    first = error.errors(include_url=False)[0]
    location = field_path(first["loc"])
    context: dict[str, Any] = first.get("ctx") or {}
    field = ".".join(location) or context.get(FIELD)
    default_code = f"invalid_{field.split('.')[0]}" if field else "invalid_input"
    if first["type"] == "extra_forbidden" and field:
        raise errors.InvalidInput(
            f"{field} is not a field this endpoint takes", "unknown_field", field
        )
    if ERROR_CODE in context:
        raise errors.InvalidInput(first["msg"], context[ERROR_CODE] or default_code, field)
    if not field:
        raise errors.InvalidInput("the body must be a JSON object", "invalid_json")
    told = explanation_of(error.title, field) if first["type"] == "missing" else None
    if told is not None:
        raise errors.InvalidInput(told.message, told.code or default_code, field)
    raise errors.InvalidInput(f"{field}: {first['msg']}", default_code, field)


def _limit_reached(error: errors.LimitReached) -> tuple[Response, int]:
    """429 with when to try again, as a header (seconds) and in the body (ISO 8601)."""
    body = {"code": error.code, "message": error.message, "retry_at": error.retry_at.isoformat()}
    response = jsonify(error=body)
    response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response, 429


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(errors.RentalError)
    def domain_error(error: errors.RentalError) -> tuple[Response, int]:
        status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
        if isinstance(error, errors.LimitReached):
            return _limit_reached(error)
        return error_body(status, error.code, error.message, error.field)

    @app.errorhandler(RequestEntityTooLarge)
    def body_too_large(error: RequestEntityTooLarge) -> tuple[Response, int]:
        # The view's own limit when it set one (a damage photo), else MAX_CONTENT_LENGTH.
        limit = request.max_content_length
        return error_body(413, "body_too_large", f"the request body is over {limit} bytes")

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded) -> tuple[Response, int]:
        message = f"too many requests: at most {error.description}; try again later"
        response, status = error_body(429, "rate_limited", message)
        response.headers["Retry-After"] = str(seconds_until_allowed())
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        response, status = error_body(error.code or 500, code, error.description or "")
        for name, value in error.get_headers():  # Allow on a 405, WWW-Authenticate, ...
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error_body(500, "internal_error", "something went wrong on our side")
