"""The one place where errors become HTTP responses: JSON with a stable code."""

import logging

from flask import Flask, Response, jsonify, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from rental.api.limits import seconds_until_allowed
from rental.domain import errors

log = logging.getLogger(__name__)
MDS_PREFIX = "/mds/"

STATUS = {
    errors.InvalidInput: 400,
    errors.NotAuthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.NotAcceptable: 406,
    errors.Conflict: 409,
    errors.LimitReached: 429,
    errors.Unavailable: 503,
}


def error_body(status: int, code: str, message: str) -> tuple[Response, int]:
    if request.path.startswith(MDS_PREFIX):  # MDS clients expect the spec's error shape
        return jsonify(error=code, error_description=message, error_details=[message]), status
    return jsonify(error={"code": code, "message": message}), status


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
        return error_body(status, error.code, error.message)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded) -> tuple[Response, int]:
        message = f"too many requests: at most {error.description}; try again later"
        response, status = error_body(429, "rate_limited", message)
        response.headers["Retry-After"] = str(seconds_until_allowed())
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        return error_body(error.code or 500, code, error.description or "")

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error_body(500, "internal_error", "something went wrong on our side")
