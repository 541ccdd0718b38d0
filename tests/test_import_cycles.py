"""No import cycles in ``src/realtalk``: the import graph, read from the source, is acyclic.

The graph is built from the AST of every module, so it sees what running one import path would
not: imports inside functions (the "lazy" imports that hide a cycle until the function runs)
count like any other. Imports under ``if TYPE_CHECKING:`` do not: they never run, and a
module naming its owner's type for an annotation (``tool_calls`` -> ``Session``) is a
back-reference for the type checker, not a second half of one concept.

An edge goes from a module to the module it names: ``from realtalk.a import b`` is an edge to
``realtalk.a.b`` when that is a module, else to ``realtalk.a``. Loading a submodule also runs
the ``__init__`` of each package above it, so those are edges too -- except the importer's own
packages, which Python has always loaded before the importer runs (so ``realtalk.dialects.ga``
importing ``realtalk.dialects.dialect`` does not depend on ``realtalk.dialects``, while
``realtalk.config`` importing ``realtalk.dialects.x`` would).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "realtalk"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / ROOT).rglob("*.py"))}


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except the bodies of ``if TYPE_CHECKING:`` (their ``else`` does run)."""
    found: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the realtalk modules it imports (anywhere in its source)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _runtime_nodes(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node.level, node.module)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                # `import realtalk.a.b` names realtalk.a.b; keep the longest known module.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if not target or target.split(".")[0] != ROOT:
                    continue
                graph[name].add(target)
                # The packages above the target load first, unless they are the importer's own.
                own = {name.rsplit(".", i)[0] for i in range(name.count(".") + 1)}
                parts = target.split(".")
                for depth in range(1, len(parts)):
                    package = ".".join(parts[:depth])
                    if package not in own:
                        graph[name].add(package)
                graph[name].discard(name)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        # Iterative, so a deep graph cannot hit the recursion limit.
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
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
                    components.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(components)


def test_the_detector_finds_a_cycle_through_a_lazy_import() -> None:
    # The detector must be able to fail: a cycle made of one import at the top of a module and
    # one hidden in a function body, beside a typing-only import that is no edge.
    sources = {
        "realtalk.a": "from realtalk.b import thing\n",
        "realtalk.b": "def f():\n    from realtalk.a import other\n",
        "realtalk.c": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import realtalk.a\n"
        ),
    }
    graph: dict[str, set[str]] = {}
    for name, source in sources.items():
        named: set[str] = set()
        for node in _runtime_nodes(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module:
                named.add(node.module)
            elif isinstance(node, ast.Import):
                named.update(alias.name for alias in node.names)
        graph[name] = {n for n in named if n in sources}
    assert graph["realtalk.c"] == set()
    assert find_cycles(graph) == [["realtalk.a", "realtalk.b"]]
    assert find_cycles({"realtalk.a": {"realtalk.b"}, "realtalk.b": set()}) == []


def test_the_graph_covers_every_module_and_sees_function_level_imports() -> None:
    graph = import_graph()
    assert set(graph) == set(_modules())
    # `realtalk.tool_calls` imports realtalk.tools inside a method only.
    assert "realtalk.tools" in graph["realtalk.tool_calls"]


def test_no_import_cycles_in_realtalk() -> None:
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles (each line one tangle):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )
