"""The import graph of camhub/ (issue 20): no circles, and no import that runs back up
the layering.

Every module under camhub/ is parsed with ``ast``; every import counts, also those inside
functions (lazy imports) and under ``TYPE_CHECKING``: a lazy import is still a
dependency, only a later one. A module belongs to the first layer that names it or a
package above it; a module no layer names fails the test, so that a new one is placed
on purpose.
"""

from __future__ import annotations

import ast
from pathlib import Path

import camhub

ROOT = Path(camhub.__file__).parent

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # Shared types and helpers that know nothing of the rest.
    (
        "core",
        (
            "camhub.errors",
            "camhub.types",
            "camhub.video",
            "camhub.jpeg",
            "camhub.units",
            "camhub.signals",
            "camhub.metrics",
            "camhub.datadir",
            "camhub.latest",
            "camhub.clock",
            # config plumbing: the section base, document positions, command-line overlay
            "camhub.section",
            "camhub.positions",
            "camhub.overlay",
        ),
    ),
    # The wire: message format, sockets, their security.
    ("wire", ("camhub.protocol", "camhub.transport", "camhub.security")),
    # Frames in and out: camera sources and senders, the hub's receive path and store.
    (
        "ingest",
        (
            "camhub.bus",
            "camhub.camera_state",
            "camhub.store",
            "camhub.receiver",
            "camhub.sources",
            "camhub.sender",
            "camhub.encoding",
            "camhub.agent",
            "camhub.puller",
            "camhub.scenes",
            "camhub.videostream",
            "camhub.display",
        ),
    ),
    # The event model and lifecycle that the consumers produce into.
    ("events", ("camhub.events",)),
    # Consumers of the store and the bus.
    (
        "consumers",
        (
            "camhub.processing",
            "camhub.record",
            "camhub.detect",
            "camhub.notify",
            "camhub.phones",
        ),
    ),
    ("cluster", ("camhub.distributed",)),
    # What puts the parts together into a hub.
    ("hub", ("camhub.hub", "camhub.compat", "camhub.history", "camhub.health", "camhub.config")),
    ("web", ("camhub.web",)),
    ("app", ("camhub.service", "camhub.cli", "camhub.__main__", "camhub")),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """The camhub modules that module ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from camhub.detect import metrics`` imports a module; ``from
                # camhub.detect import DetectorError`` imports from the package.
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in modules else source)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    names = set(modules)
    return {name: _imports(name, path, names) for name, path in modules.items()}


def _layer(module: str) -> int | None:
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix != "camhub" and module.startswith(prefix + ".")):
                return index
    return None


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in _graph() if _layer(m) is None)
    assert not unplaced, f"place these modules in a layer of tests/test_layering.py: {unplaced}"


def test_no_import_runs_back_up_the_layering() -> None:
    upward = []
    for module, imported in sorted(_graph().items()):
        mine = _layer(module)
        for target in sorted(imported):
            theirs = _layer(target)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(
                    f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})"
                )
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_circles() -> None:
    assert _circles(_graph()) == []


def test_the_checks_can_fail() -> None:
    """The checks see a circle and an upward import when there is one."""
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    graph = _graph()
    assert "camhub.store" in graph["camhub.hub"]  # imports are found at all
    assert _layer("camhub.web.app") > _layer("camhub.store")  # type: ignore[operator]
    assert _layer("camhub") == len(LAYERS) - 1 and _layer("camhub.nothing") is None
