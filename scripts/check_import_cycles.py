"""Fail on any import cycle between the modules of ``vall_e/``.

    python scripts/check_import_cycles.py [--root vall_e]

Reads every ``.py`` file under the package with ``ast`` (nothing is imported or executed) and
draws an edge A -> B for each ``import B`` / ``from B import x`` in module A that names a module
of the package. **Both module-level and function-level (lazy) imports count**: a lazy import only
postpones a cycle to the first call, it still ties the two modules together. Imports under
``if TYPE_CHECKING:`` do not count (they never run). ``from pkg import name`` points at
``pkg.name`` when that is a module, else at ``pkg``. Importing ``a.b.c`` is one edge to ``a.b.c``:
the parent packages' ``__init__`` files Python also runs are not counted, since every
``__init__`` that re-exports its submodules would otherwise form a cycle with each of them.

Each strongly connected component of more than one module is a cycle: it is printed with its
members and one concrete loop through them, and the exit status is 1. No cycle: status 0.
"""
from __future__ import annotations

import argparse
import ast
import sys
from collections import deque
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the package directory ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node, at any depth, outside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (module docstring: what counts)."""
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                target = _resolve(name, is_package, node)
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target
                           for a in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components with more than one member, each sorted, largest first."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(node: str) -> None:  # recursion depth is bounded by the module count (~200)
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found, key=lambda c: (-len(c), c))


def one_loop(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest loop from the component's first member back to itself, inside the component."""
    members, start = set(component), component[0]
    parent, queue = {}, deque([start])
    while queue:
        node = queue.popleft()
        for succ in sorted(graph[node] & members):
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, start]
            if succ not in parent:
                parent[succ] = node
                queue.append(succ)
    return component


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(REPO / "vall_e"), help="the package directory")
    args = parser.parse_args(argv)
    graph = import_graph(module_names(Path(args.root)))
    cycles = strongly_connected(graph)
    for component in cycles:
        print(f"import cycle among {len(component)} modules: {', '.join(component)}")
        print("  e.g. " + " -> ".join(one_loop(graph, component)))
    print(f"{len(cycles)} import cycle(s) in {len(graph)} modules")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
