"""The API's contract: the OpenAPI document at /api/v1/openapi.json, browsable at /api/docs
under the pages' strict Content-Security-Policy, and the same document's claims about
errors and sign-in."""

import re

from rental.app import create_app


def test_the_document_is_openapi_3_1_with_bearer_sign_in_and_the_error_body(platform):
    client = create_app(platform=platform).test_client()

    document = client.get("/api/v1/openapi.json").json

    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    }
    error = document["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert operations
    for operation in operations:
        for status in ("400", "413", "429"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith(("/ErrorBody", "/MdsErrorBody")), operation
        if operation.get("security"):  # MDS's routes answer MDS's error body
            schema = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith(("/ErrorBody", "/MdsErrorBody")), operation


def test_the_reference_page_shows_the_operations_with_no_console_errors(system, tab):
    tab.page.goto(f"{system.url}/api/docs")

    tab.page.wait_for_selector(".opblock-summary-path", timeout=15_000)

    paths = tab.page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/rentals" in paths and "/healthz" in paths
    assert tab.problems == []
    tab.screenshot("api-docs")


def test_the_reference_page_carries_the_pages_policy(platform):
    client = create_app(platform=platform).test_client()

    page = client.get("/api/docs")

    policy = page.headers["Content-Security-Policy"]
    assert page.status_code == 200 and b'src="/web/docs/docs.js"' in page.data
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert client.get("/vendor/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_bodies_over_the_cap_are_refused_with_413_and_the_error_body(platform):
    client = create_app({"MAX_CONTENT_LENGTH": 1000}, platform=platform).test_client()

    answer = client.post("/api/v1/riders", data="x" * 1001, content_type="application/json")

    assert answer.status_code == 413 and answer.json["error"]["code"] == "body_too_large"


def test_a_405_says_which_methods_are_allowed(platform):
    client = create_app(platform=platform).test_client()

    answer = client.delete("/healthz")

    assert answer.status_code == 405 and "GET" in answer.headers["Allow"]
    assert answer.json["error"]["code"] == "method_not_allowed"


def test_a_field_the_endpoint_does_not_know_is_refused_not_dropped(system):
    body = {"qr": "BK00001", "idempotency_key": "k" * 16, "idempotency": "typo"}

    answer = system.post("/api/v1/rentals", body, system.rider())

    assert answer.status_code == 400
    assert answer.json()["error"] | {"message": ""} == {
        "code": "unknown_field",
        "message": "",
        "field": "idempotency",
    }


def test_a_whole_number_written_with_a_fraction_is_the_integer_json_says_it_is(system):
    rider = system.rider()

    whole = system.post(
        "/api/v1/wallet/top-ups", {"amount_minor": 1000.0, "idempotency_key": "k" * 16}, rider
    )
    half = system.post(
        "/api/v1/wallet/top-ups", {"amount_minor": 1000.5, "idempotency_key": "h" * 16}, rider
    )

    assert whole.status_code == 201 and whole.json()["amount_minor"] == 1000
    assert (half.status_code, half.json()["error"]["code"]) == (400, "invalid_amount")


def test_what_the_document_marks_optional_but_not_nullable_refuses_null(system):
    code, _ = system.bike()
    operator = system.operator()

    nothing = system.patch(f"/api/v1/ops/assets/{code}", {}, operator)
    null = system.patch(f"/api/v1/ops/assets/{code}", {"in_service": None}, operator)
    half_a_position = system.post(
        f"/api/v1/ops/assets/{code}/rebalance", {"action": "pick_up", "lon": 121.47}, operator
    )

    assert (nothing.status_code, nothing.json()["error"]["code"]) == (400, "invalid_input")
    assert (null.status_code, null.json()["error"]["field"]) == (400, "in_service")
    assert half_a_position.json()["error"] == {
        "code": "invalid_position",
        "message": "lon and lat, when given, are WGS 84 degrees",
        "field": "lat",
    }


def test_who_may_not_call_an_endpoint_is_told_so_before_anything_about_its_request(platform):
    """Every operation the document says needs a token answers 401 to a request without one,
    whatever its path, query and body hold: a stranger learns nothing of its shape."""
    client = create_app(platform=platform).test_client()
    document = client.get("/api/v1/openapi.json").json
    told = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not operation.get("security") or path.endswith("/receipt.html"):
                continue  # the printable receipt opens by a signed link as well as a token
            url = re.sub(r"\{[^}]+\}", "not-an-id", path)
            query = {p["name"]: "nonsense!" for p in operation.get("parameters", [])}
            query = {name: value for name, value in query.items() if name not in path}
            body = {"nonsense": ["!"]} if method in ("post", "put", "patch") else None
            answer = client.open(url, method=method.upper(), query_string=query, json=body)
            told[f"{method.upper()} {path}"] = answer.status_code
    wrong = [f"{call}: {status}" for call, status in told.items() if status != 401]
    assert told and wrong == []


def test_a_city_no_operator_launched_is_404_on_every_read_that_names_one(system):
    """An operator's list or figures for a city that does not exist say so, rather than
    answer an empty list (a typo would read as "no vehicles")."""
    document = system.get("/api/v1/openapi.json").json()
    operator = system.operator()
    answers = {}
    for path, item in document["paths"].items():
        operation = item.get("get")
        names = {p["name"] for p in (operation or {}).get("parameters", []) if p["in"] == "query"}
        if not operation or "city_id" not in names or "{" in path or path.startswith("/mds"):
            continue
        answer = system.get(f"{path}?city_id=atlantis", operator)
        json_error = answer.status_code >= 400 and answer.headers["Content-Type"].endswith("json")
        answers[path] = (answer.status_code, json_error and answer.json()["error"]["code"])
    wrong = [f"{path}: {got}" for path, got in answers.items() if got != (404, "city_not_found")]
    assert answers and not wrong, "\n".join(wrong)
