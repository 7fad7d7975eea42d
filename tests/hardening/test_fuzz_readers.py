"""Property-based fuzzing of the file readers and the public API with hypothesis.

Every outcome is either a success whose result keeps archmotif's invariants (a valid,
acyclic graph that round-trips), or an :class:`archmotif.ArchmotifError`; readers
must also name the file. Any other exception (a ``TypeError``, ``KeyError`` or
``MemoryError`` leaking from inside), a Rust panic (``PanicException``) or a crash
fails the test.

The default run is seeded (``derandomize``) and small, a few seconds per test. Raise
the budget for a long run with ``ARCHMOTIF_FUZZ_EXAMPLES`` (examples per test; the
run is then randomised)::

    ARCHMOTIF_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/hardening/test_fuzz_readers.py
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import archmotif
from archmotif import ArchmotifError, FormatError, OpGraph
from archmotif.corpus import corpus_info

_LONG = int(os.environ.get("ARCHMOTIF_FUZZ_EXAMPLES", "0"))


def _budget(default: int) -> Callable[[Any], Any]:
    """Seeded and small by default; ``ARCHMOTIF_FUZZ_EXAMPLES`` examples, random, if set."""
    return settings(
        max_examples=_LONG or default,
        deadline=None,
        derandomize=not _LONG,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- strategies -------------------------------------------------------------------

# Integers a validator must get right: the boundaries of every width the core sees.
_EDGE_INTS = st.sampled_from(
    [-(2**63), -(2**31) - 1, -(2**31), -2, -1, 0, 1, 2, 3, 2**31 - 1, 2**31, 2**32, 2**63 - 1]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)
_DTYPES = st.sampled_from(
    ["int8", "int16", "int32", "int64", "uint8", "uint32", "uint64", "float32", "float64", "bool"]
)


@st.composite
def small_dags(draw: st.DrawFn, max_nodes: int = 12) -> OpGraph:
    """A valid DAG: edges go from a lower to a higher node id (then nodes are shuffled,
    so edge direction does not follow the node order)."""
    n = draw(st.integers(0, max_nodes))
    names = ["input", "conv", "relu", "add"]
    ops = draw(st.lists(st.sampled_from(names), min_size=n, max_size=n))
    pairs = []
    if n >= 2:
        pairs = draw(
            st.lists(
                st.integers(0, n - 2).flatmap(
                    lambda a: st.tuples(st.just(a), st.integers(a + 1, n - 1))
                ),
                max_size=3 * n,
            )
        )
    perm = draw(st.permutations(range(n)))
    edges = np.array([[perm[a] for a, _ in pairs], [perm[b] for _, b in pairs]], dtype=np.int64)
    permuted = [""] * n
    for v, p in enumerate(perm):
        permuted[p] = ops[v]
    # some graphs carry output shapes and parameter counts, so their members are read
    meta: dict[str, Any] = {}
    if draw(st.booleans()):
        meta["node_shapes"] = draw(st.lists(st.sampled_from(["", "1×3", "1×8×2"]),
                                            min_size=n, max_size=n))  # fmt: skip
        meta["node_params"] = draw(st.lists(st.integers(0, 2**40), min_size=n, max_size=n))
    return OpGraph(permuted, edges.reshape(2, -1), op_names=names if n else None, **meta)


def _elements(dt: str) -> st.SearchStrategy[Any] | None:
    """Small ids and width boundaries for integer dtypes; hypothesis' own (NaN, inf,
    booleans) for the others."""
    if np.dtype(dt).kind not in "iu":
        return None
    info = np.iinfo(dt)
    return (st.integers(-2, 8) | _EDGE_INTS).filter(lambda x: info.min <= x <= info.max)


def _int_arrays(max_len: int = 8) -> st.SearchStrategy[np.ndarray]:
    """Arrays of any dtype and 0 to 3 dimensions, mostly holding plausible ids."""
    return _DTYPES.flatmap(
        lambda dt: hnp.arrays(
            dt,
            hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=max_len),
            elements=_elements(dt),
        )
    )


# -- invariants of a success --------------------------------------------------------


def _assert_valid(g: OpGraph) -> None:
    """What every OpGraph a reader hands out must satisfy."""
    assert g.ops.dtype == np.int32 and g.ops.ndim == 1
    assert g.edges.dtype == np.int64 and g.edges.shape[0] == 2
    assert all(isinstance(n, str) for n in g.op_names)
    assert len(set(g.op_names)) == len(g.op_names)
    assert isinstance(g.name, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in g.labels.items())
    assert g.node_names is None or (
        len(g.node_names) == g.num_nodes and all(isinstance(n, str) for n in g.node_names)
    )
    if g.num_nodes:
        assert g.ops.min() >= 0 and g.ops.max() < len(g.op_names)
    if g.node_shapes is not None:
        assert g.node_shapes.dtype == np.int32 and g.node_shapes.shape == (g.num_nodes,)
        assert all(isinstance(s, str) for s in g.output_shapes())
    if g.node_params is not None:
        assert g.node_params.dtype == np.int64 and g.node_params.shape == (g.num_nodes,)
        assert not g.node_params.size or g.node_params.min() >= 0
    if g.num_edges:
        assert g.edges.min() >= 0 and g.edges.max() < g.num_nodes
    # Acyclic (Kahn): the core may reuse these arrays without checking them again.
    indeg = np.bincount(g.edges[1], minlength=g.num_nodes)
    succ: list[list[int]] = [[] for _ in range(g.num_nodes)]
    for a, b in g.edges.T.tolist():
        succ[a].append(b)
    ready = [v for v in range(g.num_nodes) if indeg[v] == 0]
    seen = 0
    while ready:
        v = ready.pop()
        seen += 1
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
    assert seen == g.num_nodes, "a reader accepted a cyclic graph"


# -- corpus files ---------------------------------------------------------------


def _valid_corpus_arrays(graphs: list[OpGraph], where: Path) -> dict[str, np.ndarray]:
    p = where / "valid.npz"
    archmotif.save_corpus(graphs, p, meta={"note": "fuzz"})
    with np.load(p, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@st.composite
def _corpus_mutation(draw: st.DrawFn) -> tuple[list[OpGraph], Callable[[dict], None]]:
    graphs = draw(st.lists(small_dags(6), min_size=0, max_size=3))
    kind = draw(st.sampled_from(["header-field", "header-bytes", "array", "element", "drop"]))

    def mutate(arrays: dict[str, np.ndarray]) -> None:
        if kind in ("header-field", "header-bytes"):
            h = json.loads(arrays["header"].tobytes())
            if kind == "header-field":
                key = draw(st.sampled_from([*h, "extra"]))
                if draw(st.booleans()) and key in h:
                    del h[key]
                else:
                    h[key] = draw(_JSON)
                raw = json.dumps(h).encode()
            else:
                raw = draw(st.binary(max_size=64))
            arrays["header"] = np.frombuffer(raw, dtype=np.uint8)
        elif kind == "array":
            arrays[draw(st.sampled_from(sorted(arrays)))] = draw(_int_arrays())
        elif kind == "element":
            name = draw(st.sampled_from(["ops", "node_offsets", "edges", "edge_offsets",
                                         "records", "record_offsets", "attrs", "node_shapes",
                                         "node_params"]))  # fmt: skip
            a = arrays[name].copy()
            if a.size:
                i = draw(st.integers(0, a.size - 1))
                v = draw(_EDGE_INTS | st.integers(-2, 8))
                a.reshape(-1)[i] = np.asarray(v).astype(a.dtype)  # wraps, like a bad writer
            arrays[name] = a
        else:
            del arrays[draw(st.sampled_from(sorted(arrays)))]

    return graphs, mutate


def _load_checked(p: Path) -> None:
    """``load_corpus`` and ``corpus_info`` on ``p``: a valid result or a typed error
    naming the file."""
    attrs_view = functools.partial(archmotif.load_corpus, detail="attrs")
    for reader in (archmotif.load_corpus, attrs_view, corpus_info):
        try:
            out = reader(p)
        except ArchmotifError as e:
            assert str(p) in str(e), f"{type(e).__name__} does not name the file: {e}"
            continue
        if reader is not corpus_info:
            for g in out:
                _assert_valid(g)
            archmotif.save_corpus(out, p.with_suffix(".again.npz"))
            assert archmotif.load_corpus(p.with_suffix(".again.npz")) == out


@pytest.fixture(scope="module", autouse=True)
def _bounded_memory() -> Iterator[None]:
    """Caps this process's address space at 4 GiB over what it uses now while fuzzing,
    so an input that makes archmotif allocate without bound fails here with a
    MemoryError (as op id 2**31 - 1 without op_names once did) instead of taking the
    machine; the cap is lifted afterwards."""
    try:
        import resource

        with open("/proc/self/status") as f:
            vm = next(int(x.split()[1]) for x in f if x.startswith("VmSize:")) << 10
    except (ImportError, OSError, StopIteration):  # not Linux: run without the cap
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm + (4 << 30) if hard == resource.RLIM_INFINITY else min(vm + (4 << 30), hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@_budget(100)
@given(case=_corpus_mutation())
def test_a_mutated_corpus_loads_valid_graphs_or_raises_a_typed_error(
    case: tuple[list[OpGraph], Callable[[dict], None]], fuzz_dir: Path
) -> None:
    graphs, mutate = case
    arrays = _valid_corpus_arrays(graphs, fuzz_dir)
    mutate(arrays)
    p = fuzz_dir / "mutated.npz"
    with open(p, "wb") as f:
        np.savez(f, **arrays)
    _load_checked(p)


@_budget(150)
@given(
    graphs=st.lists(small_dags(6), min_size=1, max_size=3),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=4),
)
def test_a_corrupted_corpus_file_raises_a_typed_error_naming_it(
    graphs: list[OpGraph], cut: float, flips: list[tuple[float, int]], fuzz_dir: Path
) -> None:
    p = fuzz_dir / "corrupt.npz"
    archmotif.save_corpus(graphs, p)
    raw = bytearray(p.read_bytes())
    for where, mask in flips:
        raw[int(where * (len(raw) - 1))] ^= mask
    p.write_bytes(bytes(raw[: max(1, int(cut * len(raw)))] if cut < 1 else raw))
    _load_checked(p)


@_budget(100)
@given(raw=st.binary(max_size=256) | st.binary(max_size=256).map(lambda b: b"PK\x03\x04" + b))
def test_random_bytes_are_never_a_corpus(raw: bytes, fuzz_dir: Path) -> None:
    p = fuzz_dir / "random.npz"
    p.write_bytes(raw)
    with pytest.raises(FormatError, match="random.npz"):
        archmotif.load_corpus(p)


# -- OpGraph JSON -----------------------------------------------------------------


@st.composite
def _mutated_json(draw: st.DrawFn) -> str:
    d = draw(small_dags(6)).to_dict()
    d["labels"], d["node_names"] = {"family": "toy"}, [f"n{i}" for i in range(len(d["ops"]))]
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from([*d, "extra"]))
        how = draw(st.sampled_from(["replace", "delete", "element"]))
        if how == "delete" and key in d:
            del d[key]
        elif how == "element" and isinstance(d.get(key), list) and d[key]:
            lst = d[key]
            i = draw(st.integers(0, len(lst) - 1))
            if key == "edges" and isinstance(lst[i], list) and lst[i] and draw(st.booleans()):
                j = draw(st.integers(0, len(lst[i]) - 1))
                lst[i][j] = draw(_EDGE_INTS | _JSON)
            else:
                lst[i] = draw(_EDGE_INTS | _JSON)
        else:
            d[key] = draw(_JSON)
    return json.dumps(d)


@_budget(300)
@given(text=_mutated_json() | st.text(max_size=40) | _JSON.map(json.dumps))
def test_mutated_opgraph_json_parses_to_a_valid_graph_or_raises_a_typed_error(
    text: str,
) -> None:
    try:
        g = OpGraph.from_json(text)
    except ArchmotifError as e:
        if isinstance(e, FormatError):
            assert "<json>" in str(e)
        return
    _assert_valid(g)
    assert OpGraph.from_json(g.to_json()) == g


@_budget(100)
@given(raw=st.binary(max_size=128))
def test_an_opgraph_file_of_random_bytes_raises_format_error(raw: bytes, fuzz_dir: Path) -> None:
    p = fuzz_dir / "graph.json"
    p.write_bytes(raw)
    try:
        _assert_valid(OpGraph.load(p))
    except FormatError as e:
        assert str(p) in str(e)
    except ArchmotifError:
        pass


# -- arrays into OpGraph(...) -------------------------------------------------------


@_budget(300)
@given(
    ops=_int_arrays(10) | st.lists(st.sampled_from(["a", "b", "c"]), max_size=8),
    edges=_int_arrays(6) | st.none(),
    op_names=st.none() | st.lists(st.text(max_size=2), max_size=6).map(tuple),
)
def test_random_arrays_make_a_valid_opgraph_or_raise_graph_error(
    ops: Any, edges: Any, op_names: tuple[str, ...] | None
) -> None:
    try:
        g = OpGraph(ops, edges, op_names=op_names)
    except ArchmotifError:
        return
    _assert_valid(g)


# -- contract -----------------------------------------------------------------------


@_budget(200)
@given(
    g=small_dags(10),
    data=st.data(),
)
def test_contract_by_a_random_partition_gives_an_acyclic_cover_or_graph_error(
    g: OpGraph, data: st.DataObject
) -> None:
    n = g.num_nodes
    part = data.draw(
        st.one_of(
            hnp.arrays(
                _DTYPES,
                st.sampled_from([(n,), (n,), (n,), (max(0, n - 1),), (n + 1,), (n, 1)]),
                elements=None,
            ),
            st.lists(st.integers(-3, 4) | _EDGE_INTS, min_size=n, max_size=n),
        )
    )
    try:
        m = archmotif.contract(g, part)
    except ArchmotifError:
        return
    groups = np.asarray(part).astype(np.int64)
    assert m.node_to_macro.shape == (n,)
    assert m.num_nodes == len(np.unique(groups))
    # Nodes share a macro node exactly when they share a group.
    for a in range(n):
        for b in range(n):
            assert (groups[a] == groups[b]) == (m.node_to_macro[a] == m.node_to_macro[b])
    macro = OpGraph(np.zeros(m.num_nodes, np.int32), m.edges, op_names=["m"])
    _assert_valid(macro)  # acyclic: a convex partition cannot create a cycle
    assert int(m.weights.sum()) <= g.num_edges
