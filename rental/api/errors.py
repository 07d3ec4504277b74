"""The one place where errors become HTTP responses: JSON with a stable code."""

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

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
    errors.Unavailable: 503,
}


def error_body(status: int, code: str, message: str) -> tuple[Response, int]:
    if request.path.startswith(MDS_PREFIX):  # MDS clients expect the spec's error shape
        return jsonify(error=code, error_description=message, error_details=[message]), status
    return jsonify(error={"code": code, "message": message}), status


def _headers_of(error: HTTPException) -> list[tuple[str, str]]:
    """The headers HTTP asks of this error (405's `Allow`, 401's `WWW-Authenticate`, 429's
    `Retry-After`), but not its HTML content type: our body is JSON."""
    return [
        (name, value)
        for name, value in error.get_headers(request.environ)
        if name.lower() != "content-type"
    ]


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(errors.RentalError)
    def domain_error(error: errors.RentalError) -> tuple[Response, int]:
        status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
        return error_body(status, error.code, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        response, status = error_body(error.code or 500, code, error.description or "")
        response.headers.extend(_headers_of(error))
        return response, status

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error_body(500, "internal_error", "something went wrong on our side")
