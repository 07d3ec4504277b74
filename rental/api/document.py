"""The OpenAPI 3.1 document of the API, served at /api/v1/openapi.json (and shown by the
viewer at /api/docs): flask-openapi3 writes it from the blueprints' declared models; here
it gets what is true of every operation, so no blueprint has to repeat it.

- Every operation may answer 400 (a request that does not fit), 413 (a body over
  MAX_CONTENT_LENGTH) and 429 (too many requests), with the error body.
- An operation that takes a bearer token may answer 401 and 403.
- Under /mds/ errors have the MDS spec's shape instead, and answers MDS's media type.
"""

from typing import Any

from flask import Response, current_app, jsonify
from flask_openapi3 import Info, OpenAPI

from rental.api.contract import ErrorBody, MdsErrorBody
from rental.api.errors import MDS_PREFIX, validation_failed
from rental.domain.mds import ANSWER_TYPE

DOCUMENT_URL = "/api/v1/openapi.json"
SCHEMA_REF = "#/components/schemas/"
EVERY_OPERATION = {"400": "the request does not fit", "413": "the body is too large",
                   "429": "too many requests: wait as Retry-After says"}  # fmt: skip
SIGNED_IN = {"401": "no valid bearer token", "403": "the token's role may not do this"}
DESCRIPTION = """The dockless rental platform's HTTP API: riders sign up, scan, ride and pay;
operators run the fleet. Send JSON; every error is JSON,
`{"error": {"code": "...", "message": "...", "field": "..."}}`, where `code` is stable and
`field` names the part of the request that was wrong. Money is integers in minor units with
an ISO 4217 currency; positions are WGS 84 lon/lat; times are ISO 8601. Calls that move
money or start something take an `idempotency_key`: repeating it answers the first result.
Sign in at `POST /api/v1/auth/token` and send `Authorization: Bearer <access_token>`."""


def new_app(import_name: str) -> OpenAPI:
    """The app, with the contract's validation: 400 and our error body on a misfit."""
    return OpenAPI(
        import_name,
        info=Info(title="Dockless rental API", version="1", description=DESCRIPTION),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        validation_error_status=400,
        validation_error_model=ErrorBody,
        validation_error_callback=validation_failed,
        operation_id_callback=operation_id,
        doc_ui=False,
    )


def operation_id(*, name: str, path: str = "", method: str = "", bp_name: str = "") -> str:
    """The view's Flask endpoint name (`rentals.show_rental`): unique, and what logs say."""
    return f"{bp_name}.{name}" if bp_name else name


def serve_document(app: OpenAPI) -> None:
    """Completes the document once all blueprints are registered, and serves it."""
    document = app.api_doc
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["MdsErrorBody"] = MdsErrorBody.model_json_schema()
    for path, item in document["paths"].items():
        error = "MdsErrorBody" if path.startswith(MDS_PREFIX) else "ErrorBody"
        for operation in item.values():
            answers = dict(EVERY_OPERATION, **(SIGNED_IN if operation.get("security") else {}))
            responses = operation.setdefault("responses", {})
            for status, description in answers.items():
                responses[status] = _error_response(error, description)
            for status, response in responses.items():
                if status >= "400" and "content" not in response:
                    responses[status] = _error_response(error, response.get("description", ""))
                elif status < "400" and path.startswith(MDS_PREFIX):
                    _as_mds_answer(response)

    def openapi_document() -> Response:
        return jsonify(current_app.api_doc)  # type: ignore[attr-defined]

    app.add_url_rule(DOCUMENT_URL, "openapi_document", openapi_document, methods=["GET"])


def _as_mds_answer(response: dict[str, Any]) -> None:
    """MDS answers are `application/vnd.mds+json;version=2.0` (its versioning), not JSON."""
    content = response.get("content", {})
    if "application/json" in content:
        content[ANSWER_TYPE] = content.pop("application/json")


def _error_response(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": SCHEMA_REF + schema}}},
    }
