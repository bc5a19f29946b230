"""The package's import graph: no cycles (lazy imports inside functions count too: they only hide a cycle), and
nothing imports the entry point ``lrnas.train`` but the CLI that starts it."""
from __future__ import annotations

import ast
from pathlib import Path

import lrnas

PACKAGE = Path(lrnas.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The lrnas modules an import statement runs: each named module and the packages above it (their __init__)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".")[: len(module.split(".")) - node.level + is_package]
            stem = ".".join([*base, node.module] if node.module else base)
        else:
            stem = node.module
        names = [stem, *(f"{stem}.{alias.name}" for alias in node.names)]  # `from pkg import submodule` too
    found = set()
    for name in names:
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(2, len(parts) + 1) if ".".join(parts[:i]) in known)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for module, path in files.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets |= imported_modules(module, path.name == "__init__.py", node, set(files))
        # A module's own packages are being imported when it runs: an edge to them is not a cycle of its making.
        graph[module] = {t for t in targets if t != module and not module.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_checker_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_lazy_relative_and_parent_package_imports():
    graph = import_graph()
    assert "lrnas.train" in graph["lrnas.cli"]  # imported inside a function
    assert {"lrnas.spaces.nb201.arch", "lrnas.spaces.nb201.cells"} <= graph["lrnas.spaces.nb201.supernet"]
    assert "lrnas.benchmarks" in graph["lrnas.spaces.nb201.benchmark"]  # the package above lrnas.benchmarks.table


def test_nothing_imports_the_entry_point():
    importers = sorted(module for module, targets in import_graph().items() if "lrnas.train" in targets)
    assert importers == ["lrnas.cli"]
