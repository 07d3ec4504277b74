"""The official MDS 2.0 OpenAPI schemas in ../shared/data, loaded as JSON Schema.

The YAML files point at each other with relative `$ref`s; `referencing` resolves them
against each file's own URI, reading the files as they are needed.

One reading is ours: vehicles and events are a `oneOf` over the four MDS modes, and
those overlap (a bicycle with no attributes is just as valid a car-share vehicle, and
`trip_end` is an event of several modes), so no micromobility record can match exactly
one branch. Where a record matches several mode branches and micromobility is one of
them, we accept it as the micromobility record it is; every other `oneOf`, and every
other keyword, is checked as written.
"""

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

MDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "mds-openapi"
PROVIDER = MDS / "reference" / "provider.yaml"


MICROMOBILITY = "/modes/micromobility/"


def _one_of_modes(validator: Any, one_of: Any, instance: Any, schema: Any) -> Any:
    branches = [branch.get("$ref", "") for branch in one_of]
    if all("/modes/" in ref for ref in branches):
        matching = [
            ref
            for branch, ref in zip(one_of, branches, strict=True)
            if not any(validator.descend(instance, branch))
        ]
        if len(matching) > 1 and any(MICROMOBILITY in ref for ref in matching):
            return
    yield from Draft202012Validator.VALIDATORS["oneOf"](validator, one_of, instance, schema)


Validator = validators.extend(Draft202012Validator, {"oneOf": _one_of_modes})


def _retrieve(uri: str) -> Resource[Any]:
    path = Path(uri.removeprefix("file://"))
    return Resource.from_contents(yaml.safe_load(path.read_text()), DRAFT202012)


@functools.cache
def _registry() -> Registry[Any]:
    if not PROVIDER.exists():
        pytest.fail(f"the official MDS schemas are missing: {MDS}")
    return Registry(retrieve=_retrieve)  # type: ignore[call-arg]


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def assert_valid_response(path: str, body: Any, status: str = "200") -> Any:
    """`body` as the provider API's `path` answers it (e.g. "/vehicles/status")."""
    content = "text/csv" if path.startswith("/reports") else "application/json"
    pointer = _pointer("paths", path, "get", "responses", status, "content", content, "schema")
    schema = {"$ref": f"{PROVIDER.as_uri()}#/{pointer}"}
    validator = Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{path}: {errors[0].message} at {list(errors[0].absolute_path)}"
    return body


def assert_valid_model(model: str, document: Any) -> Any:
    """One record against a model file (e.g. "event.yaml"), with a readable failure."""
    schema = {"$ref": (MDS / "models" / model).as_uri()}
    validator = Validator(schema, registry=_registry())
    errors = list(validator.iter_errors(document))
    assert not errors, f"{model}: {errors[0].message} in {document}"
    return document
