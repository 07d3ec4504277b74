"""The rebalancing's layers, read from the source: the planning model imports nothing of the
platform, and its use cases no adapter, web framework or database library."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported(path: Path, *, top_level_only: bool = False) -> set[str]:
    """The modules a file imports (those inside functions too, unless `top_level_only`)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "rebalancing").glob("*.py")), ids=lambda path: path.name
)
def test_the_planning_model_imports_nothing_of_the_platform(path):
    # `python -m rebalancing` hands over to the platform's program, inside main() only.
    names = imported(path, top_level_only=path.name == "__main__.py")

    assert not {name for name in names if within(name, ("rental", "lockctl", "simulator"))}


USE_CASES = [
    *sorted((ROOT / "rental" / "services").glob("rebalancing*.py")),
    ROOT / "rental" / "services" / "repositories" / "rebalancing.py",
    ROOT / "rental" / "domain" / "rebalancing.py",
]


@pytest.mark.parametrize("path", USE_CASES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_rebalancing_use_cases_import_no_adapter(path):
    outside = ("rental.adapters", "rental.api", "flask", "sqlalchemy", "requests", "paho")

    assert not {name for name in imported(path) if within(name, outside)}
