"""The layers import only inward: the use cases (`rental.services`) own their interfaces
and import no adapter, web framework, database or MQTT library; the domain imports
nothing of the layers around it; and `rental` never imports `lockctl`, which is only
the name `python -m lockctl` starts the lock consumer by.

Read from the source with `ast`, so imports inside functions and under TYPE_CHECKING
count too, and nothing is imported to check it.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Rule:
    package: str  # the modules the rule is about (the package and everything in it)
    forbidden: tuple[str, ...]  # what they may not import (those modules and their children)
    why: str


ADAPTER_LIBRARIES = ("flask", "sqlalchemy", "geoalchemy2", "psycopg", "paho")
OUTER_LAYERS = ("rental.adapters", "rental.api", "rental.entrypoints", "rental.bootstrap")

RULES = (
    Rule("rental", ("lockctl",), "lockctl is a shim around rental.entrypoints: no cycle"),
    Rule(
        "rental.services",
        (*OUTER_LAYERS, "rental.app", "lockctl", *ADAPTER_LIBRARIES),
        "the use cases define the ports they need; adapters implement them",
    ),
    Rule(
        "rental.domain",
        ("rental.services", *OUTER_LAYERS, "rental.app", "lockctl", *ADAPTER_LIBRARIES),
        "the domain is plain Python",
    ),
)

# (module, imported module) pairs that break a rule today, each with the work that ends it.
# Remove a line once its import is gone (the test says so when one is stale).
ALLOWED: set[tuple[str, str]] = set()


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports, absolute. `from a import b` names `a.b` when that is a
    module of ours, else `a` (b is a name in it)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                child = root / Path(*module.split("."), alias.name)
                is_module = child.with_suffix(".py").exists() or child.is_dir()
                found.add(f"{module}.{alias.name}" if is_module else module)
    return found


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package.replace(".", "/")).rglob("*.py"))


def violations() -> set[tuple[str, str, str]]:
    """(module, imported, why) for every import that breaks a rule."""
    return {
        (module_name(path), imported, rule.why)
        for rule in RULES
        for path in modules_of(rule.package)
        for imported in imports_of(path)
        if any(is_within(imported, banned) for banned in rule.forbidden)
    }


def test_every_layer_imports_only_inward():
    broken = sorted(
        f"{module} imports {imported}: {why}"
        for module, imported, why in violations()
        if (module, imported) not in ALLOWED
    )
    assert broken == []


def test_every_allowed_exception_is_still_needed():
    seen = {(module, imported) for module, imported, _ in violations()}
    assert seen >= ALLOWED, f"no longer imported, remove from ALLOWED: {ALLOWED - seen}"


def test_lockctl_is_only_the_shim_that_starts_the_lock_consumer():
    files = {path.name for path in modules_of("lockctl")}
    assert files == {"__init__.py", "__main__.py"}
    assert imports_of(ROOT / "lockctl" / "__main__.py") == {"rental.entrypoints.lock_consumer"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import paho.mqtt.client as paho", "paho.mqtt.client"),
        ("from sqlalchemy import select", "sqlalchemy"),
        ("from ..adapters import db", "rental.adapters.db"),
        ("from rental.adapters.db import UnitOfWork", "rental.adapters.db"),
        ("def f():\n    from flask import request", "flask"),
        ("if TYPE_CHECKING:\n    import lockctl", "lockctl"),
    ],
)
def test_the_check_sees_every_kind_of_import(tmp_path, source, expected):
    for module in ("rental/services/example.py", "rental/adapters/db.py"):
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text("")
    example = tmp_path / "rental" / "services" / "example.py"
    example.write_text(source)
    assert imports_of(example, tmp_path) == {expected}
