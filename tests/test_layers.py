"""The house rules of the imports: what each layer may use, and no module reaching back to
one that uses it.

- ``common/`` is pure: no app, no I/O package (``common_io``), no Flask, requests or SQLAlchemy.
- ``common_io/`` (the shared I/O edge) and ``common_web/`` (the shared web layer) may use
  ``common/`` and each other, never an app.
- the hub never imports the node and the node never imports the hub: they meet in the shared
  packages only.
- no import circle inside a package, counting imports made inside functions and under
  ``TYPE_CHECKING`` too: a circle hidden in a function is still two modules that cannot be
  understood one without the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "common_io", "common_web", "commune_node", "central_hub")
THIRD_PARTY_IO = ("flask", "requests", "sqlalchemy", "waitress", "psycopg", "alembic", "click")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


def _imports(path: Path, module: str) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            yield target
            for alias in node.names:  # ``from pkg import module`` names a module too
                yield f"{target}.{alias.name}"


MODULES = _modules()
GRAPH: dict[str, set[str]] = {
    name: {target for target in _imports(path, name) if target in MODULES and target != name}
    for name, path in MODULES.items()
}
RAW: dict[str, set[str]] = {name: set(_imports(path, name)) for name, path in MODULES.items()}


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_graph_sees_the_packages() -> None:
    # A rule over an empty graph passes for nothing: the walk must find real edges.
    assert len(MODULES) > 100
    assert "common.record" in GRAPH["commune_node.services.intake"] or any(
        target.startswith("common.") for target in GRAPH["commune_node.services.intake"]
    )


def test_common_is_pure() -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in RAW.items()
        if _top(name) == "common"
        for target in targets
        if _top(target) in {"common_io", "commune_node", "central_hub", *THIRD_PARTY_IO}
    )
    assert wrong == []


@pytest.mark.parametrize("shared", ["common_io", "common_web"])
def test_shared_packages_serve_both_apps_and_import_neither(shared: str) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in RAW.items()
        if _top(name) == shared
        for target in targets
        if _top(target) in {"commune_node", "central_hub"}
    )
    assert wrong == []


@pytest.mark.parametrize(
    ("app", "other"), [("central_hub", "commune_node"), ("commune_node", "central_hub")]
)
def test_hub_and_node_meet_only_in_shared_packages(app: str, other: str) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in RAW.items()
        if _top(name) == app
        for target in targets
        if _top(target) == other
    )
    assert wrong == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's ``__init__`` importing its own modules is how Python packages are made,
    # not a circle between two parts: leave package modules out of the walk.
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    return {
        name: {target for target in targets if target not in packages}
        for name, targets in graph.items()
        if name not in packages
    }


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    assert _cycles(_without_packages(GRAPH)) == []
