"""The edge of input: what every request must be before any view reads it.

- A body is at most MAX_CONTENT_LENGTH bytes (Flask's setting; 413 beyond it), except
  where a view sets its own `request.max_content_length` before reading the body: a damage
  photo's upload (`DAMAGE_PHOTO_MAX_BYTES`, rental.api.damage_photos).
- A JSON body is JSON (no NaN or Infinity), nests at most MAX_JSON_DEPTH levels (a body
  nested 100,000 deep would otherwise exhaust the parser's recursion), and carries no NUL
  character and no lone surrogate (`"\ud800"`) in any string or key: PostgreSQL can store
  neither, and no field needs them.
- The path and the query string carry no NUL either (`/gbfs/v3/%00/...`).

Each breach is a 400 (`invalid_json`, `invalid_path`, `invalid_query`, or
`invalid_<field>` for a NUL in a body's field) with the JSON error body, whichever view was
asked; nothing here depends on the endpoint.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, Request, current_app, request

from rental.domain.errors import InvalidInput

NUL = "\x00"
# JSON text carries a NUL or a lone surrogate only as an escape (\u0000, \ud800) or, for a
# surrogate, as its raw bytes (Python reads them leniently): without either, no walk.
ESCAPE = b"\\u"
SURROGATE_LEAD_BYTE = b"\xed"
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class RefusedJson(ValueError):
    """A body that parses but is beyond our bounds; `path` is where, as keys and indexes."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def bounded_loads(data: str | bytes, max_depth: int) -> Any:
    """JSON text as Python values, within `max_depth` levels and free of NUL, or a
    ValueError (RefusedJson when it is our bound) that says why."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise RefusedJson(f"the JSON body nests deeper than {max_depth} levels") from None
    brackets = raw.count(b"[") + raw.count(b"{")
    odd_text = ESCAPE in raw or SURROGATE_LEAD_BYTE in raw
    if brackets > max_depth or odd_text:  # else no walk can find anything
        _check_nodes(value, max_depth, check_text=odd_text)
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _check_nodes(value: Any, max_depth: int, check_text: bool) -> None:
    if isinstance(value, str) and check_text and not _storable(value):
        raise RefusedJson(TEXT_RULE)
    for node, depth, path in _containers(value):
        if depth > max_depth:
            raise RefusedJson(f"the JSON body nests deeper than {max_depth} levels")
        if check_text:
            children = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in children:
                if (isinstance(key, str) and not _storable(key)) or (
                    isinstance(child, str) and not _storable(child)
                ):
                    raise RefusedJson(TEXT_RULE, (*path, key))


TEXT_RULE = "text may not contain the NUL character or a lone surrogate"


def _storable(text: str) -> bool:
    """No NUL, and valid Unicode: what PostgreSQL can store as text."""
    if NUL in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _containers(value: Any) -> Iterator[tuple[Any, int, tuple[str | int, ...]]]:
    """Every object and array in the document, with its depth (the top is 1) and path;
    without recursion, so a deep document costs no stack."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if not isinstance(node, dict | list):
            continue
        yield node, depth, path
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1, (*path, key)))


class BoundedRequest(Request):
    """Flask's request, reading JSON bodies within the edge's bounds."""

    _bounded_json: Any = None

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        # A JSON body that is broken or beyond the bounds is refused even where a view
        # reads it "silently" (taking a broken body for none): it is never read as empty.
        # (Flask sets `json_module` per request, so the bounds live here rather than there.)
        if not (force or self.is_json) or not self.get_data(cache=True):
            return super().get_json(force=force, silent=silent, cache=cache)
        if self._bounded_json is None:
            try:
                value = bounded_loads(self.get_data(), current_app.config["MAX_JSON_DEPTH"])
            except ValueError as error:
                return self.on_json_loading_failed(error)
            self._bounded_json = (value,)
        return self._bounded_json[0]

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, RefusedJson):
            raise InvalidInput(e.message, _code_of(e.path), _field_of(e.path))
        if e is not None:
            raise InvalidInput(f"the body is not valid JSON: {e}", "invalid_json")
        return super().on_json_loading_failed(e)


def _field_of(path: tuple[str | int, ...]) -> str | None:
    return ".".join(str(part) for part in path) or None


def _code_of(path: tuple[str | int, ...]) -> str:
    """`invalid_<field>` when the top-level key is a field's name, like the contract's."""
    top = path[0] if path else None
    return f"invalid_{top}" if isinstance(top, str) and FIELD_NAME.match(top) else "invalid_json"


def refuse_nul_in_url() -> None:
    """before_request: NUL in the path or the query string is refused before any view."""
    if NUL in request.path:
        raise InvalidInput("the path may not contain the NUL character", "invalid_path")
    for name, value in request.args.items(multi=True):
        if NUL in name or NUL in value:
            field = name.replace(NUL, "") or None
            raise InvalidInput(
                "the query may not contain the NUL character", "invalid_query", field
            )


def install(app: Flask) -> None:
    app.request_class = BoundedRequest
    app.before_request(refuse_nul_in_url)
