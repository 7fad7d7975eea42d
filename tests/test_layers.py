"""Layers import one way: graph <- mining <- learn <- retrieval, with the harness
(dataset loading for experiments, reports, eval: ``datasets/``, ``experiments/``,
``prediction/``, ``viz/``) and the CLI above them. Importing a layer loads nothing above
it, and no module imports a module of a layer above its own, not even inside a function.

The static checks read every module's source (``python/archmotif``) and build the graph
of which archmotif module imports which. What counts as an import of module ``M``:

- an ``import M`` or ``from M import ...`` statement anywhere in the file (top level, in a
  function or a class), except under ``if TYPE_CHECKING:``, which is never executed;
- ``from P import N`` imports ``P.N`` when that is a module, else ``P``;
- a string literal naming an archmotif module, in a file that calls
  ``importlib.import_module``: the registries of encoders and methods, the CLI's table of
  subcommand modules and the package's lazy names import by name;
- not the parent packages Python runs first (``import a.b.c`` runs ``a/__init__``):
  a package's ``__init__`` that imports its own submodules is not a loop.

``archmotif._core`` (the Rust extension) is a leaf. The CLI modules that sit beside the
code they drive (``*/_cli.py``, ``mining/cli.py``) belong to the CLI layer, with
``archmotif.cli``, ``cli_inputs`` and ``cli_parser``: they may import any layer, and no
library module imports them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "archmotif"

# rank of each layer; a module imports only modules of its own rank or below
LIBRARY = {"mining": 1, "motifs": 1, "learn": 2, "retrieval": 3}
ABOVE = ("datasets", "experiments", "prediction", "viz", "cli", "cli_inputs", "cli_parser")
CORE = "archmotif._core"  # the Rust extension: a leaf
TOP = 4  # the harness, the CLI and the package facade ``archmotif`` (its lazy names)


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST, package: str) -> list[str]:
    """Every module name ``tree`` imports (see the module docstring), with repeats."""
    names: list[str] = []
    dynamic = "import_module" in ast.unparse(tree)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            for a in node.names:
                full = f"{base}.{a.name}"
                names.append(full if full in ALL or full == CORE else base)
        elif dynamic and isinstance(node, ast.Constant) and node.value in ALL:
            names.append(node.value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _owner(name: str) -> str | None:
    """The archmotif module ``name`` (a module or a name inside one) resolves to."""
    while name and name not in ALL:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """module -> the archmotif modules it imports (see the module docstring)."""
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in ALL.items():
        package = module if is_package else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = {_owner(n) for n in _imported_names(tree, package)
                   if n.split(".")[0] == "archmotif" and n != CORE}  # fmt: skip
        graph[module] = {t for t in targets if t and t != module}
    return graph


ALL = _modules()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def _is_cli(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last in ("_cli", "cli", "cli_inputs", "cli_parser")


def rank(module: str) -> int:
    """The layer of ``module``: 0 graph (everything below mining), 1 mining, 2 learn,
    3 retrieval, 4 the harness, the CLI and the package facade."""
    parts = module.split(".")
    if module == "archmotif" or _is_cli(module) or parts[1] in ABOVE:
        return TOP
    return LIBRARY.get(parts[1], 0)


def test_the_cycle_finder_finds_a_loop_and_its_members():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e", "d"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"x": {"y"}, "y": set()}) == []


def test_the_import_graph_sees_function_level_relative_and_dynamic_imports():
    graph = import_graph()
    # a function-level import (the CLI's `demo` imports the mining command)
    assert "archmotif.mining.cli" in graph["archmotif.cli"]
    # by name through importlib: the registry of encoders
    assert "archmotif.learn.encoder" in graph["archmotif.learn.registry"]
    # a TYPE_CHECKING import is not one
    assert "archmotif.graph" not in graph["archmotif.attributes"]


def test_no_cycles_among_archmotif_modules():
    found = cycles(import_graph())
    assert found == [], f"import loops: {found}"


def test_no_module_imports_a_layer_above_its_own():
    upward = sorted(f"{m} -> {t}" for m, targets in import_graph().items()
                    for t in targets if rank(t) > rank(m))  # fmt: skip
    assert upward == []


def test_library_layers_never_name_the_datasets():
    """The experiment harness's own case of the rule above, said on its own: no module of
    graph, mining, learn or retrieval imports datasets/ or experiments/, even lazily."""
    graph = import_graph()
    reach = sorted(f"{m} -> {t}" for m, targets in graph.items() if rank(m) < TOP
                   for t in targets if t.split(".")[1] in ("datasets", "experiments"))  # fmt: skip
    assert reach == []


def _loaded_by(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if 'archmotif' in m))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def _above(module: str, layers: tuple[str, ...]) -> set[str]:
    return {m for m in _loaded_by(module)
            if len(m.split(".")) > 1 and (m.split(".")[1] in layers or _is_cli(m))}  # fmt: skip


def test_the_mining_layer_loads_no_layer_above_it():
    for module in ("archmotif", "archmotif.mining"):
        above = _above(module, ("learn", "retrieval", *ABOVE))
        assert above == set(), f"import {module} loads {sorted(above)}"


def test_the_learn_layer_loads_neither_retrieval_nor_the_harness():
    for module in ("archmotif.learn", "archmotif.learn.encoder", "archmotif.learn.ddp"):
        above = _above(module, ("retrieval", *ABOVE))
        assert above == set(), f"import {module} loads {sorted(above)}"


def test_the_retrieval_layer_loads_no_harness():
    for module in ("archmotif.retrieval", "archmotif.retrieval.index",
                   "archmotif.retrieval.evaluate"):  # fmt: skip
        above = _above(module, ABOVE)
        assert above == set(), f"import {module} loads {sorted(above)}"
