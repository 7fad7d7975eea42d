"""The hand-written _core.pyi lists exactly what the extension exports."""

from __future__ import annotations

import ast
from pathlib import Path

import archmotif
from archmotif import _core


def test_stub_matches_the_extension():
    stub = Path(archmotif.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text())
    declared = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    declared |= {
        t.id
        for n in tree.body
        if isinstance(n, ast.AnnAssign)
        for t in [n.target]
        if isinstance(t, ast.Name)
    }
    exported = {n for n in dir(_core) if not n.startswith("__") or n == "__version__"}
    declared = {n for n in declared if not n.startswith("__") or n == "__version__"}
    assert declared == exported


def test_core_installs_without_torch():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import archmotif\n"
        "g = archmotif.OpGraph(['a', 'b'], [[0], [1]])\n"
        "assert g.num_edges == 1 and 'torch' not in [m for m in sys.modules if sys.modules[m]]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_core_panic_is_an_internal_error_not_a_crash():
    """A panic in the core (a bug) reaches Python as archmotif.InternalError, which is
    an ArchmotifError and a RuntimeError, whether it happens in the calling thread or in
    the rayon pool of a long call; the process goes on working."""
    import pytest

    for in_pool in (False, True):
        with pytest.raises(archmotif.InternalError, match="a bug in archmotif's core") as e:
            _core._panic_for_tests(in_pool)
        assert isinstance(e.value, archmotif.ArchmotifError)
        assert isinstance(e.value, RuntimeError)
    g = archmotif.OpGraph(["a", "b"], [[0], [1]])
    assert archmotif.canonical_hash(g) == archmotif.canonical_hash(g)
