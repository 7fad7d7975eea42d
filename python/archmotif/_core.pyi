"""Type stubs for the Rust extension ``archmotif._core`` (hand-checked against
``rust/python/src/lib.rs``; tests/test_core_stub.py compares the names)."""

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

def validate_graph(
    ops: npt.NDArray[np.int32], edges: npt.NDArray[np.int64], num_ops: int
) -> npt.NDArray[np.int64] | None:
    """Validates one graph (GIL released). Returns the indices of the edges kept
    when duplicates were dropped, None when all were kept. Raises GraphError."""

def validate_graphs(
    ops: npt.NDArray[np.int32],
    node_offsets: npt.NDArray[np.int64],
    edges: npt.NDArray[np.int64],
    edge_offsets: npt.NDArray[np.int64],
    num_ops: int,
    first: int = 0,
) -> list[npt.NDArray[np.int64] | None]:
    """Validates many concatenated graphs in parallel (GIL released); an error
    names the failing graph as ``first`` plus its index here."""

def canonical_hash(
    ops: npt.NDArray[np.int32], edges: npt.NDArray[np.int64], op_names: list[str]
) -> int:
    """Canonical 128-bit id of one graph (validated first; GIL released)."""

def canonical_ranks(
    ops: npt.NDArray[np.int32], edges: npt.NDArray[np.int64], op_names: list[str]
) -> npt.NDArray[np.int64]:
    """The structural rank of every node of one graph (validated first; GIL released):
    the order mining breaks ties by, topological, independent of node numbering."""

_Macro = tuple[
    npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64]
]

_Params = list[tuple[str, int]]  # MiningParams.pairs()

class MinedCore:
    """A mined corpus kept on the Rust side (rules, vocabulary, macro graphs, validated
    graphs) with the engine that applies it."""

    @property
    def op_names(self) -> list[str]: ...
    def save(
        self,
        extra: bytes,
        graphs: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]] | None = None,
    ) -> bytes:
        """The corpus in the checksummed mined-file encoding, with ``extra`` bytes and
        (unless None) the graphs as given, with their macro graphs."""

    def apply(
        self,
        graphs: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]],
        op_names: list[str],
        threads: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[_Macro]: ...
    def context(
        self, graph: int, nodes: list[int], hops: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...

def mine(
    graphs: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]],
    op_names: list[str],
    strategy: str,
    params: _Params,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[MinedCore, dict[str, Any], list[_Macro]]:
    """Mines a corpus (GIL released, Ctrl-C cancels). Returns the engine, the
    vocabulary arrays and one macro tuple per graph."""

_Counts = tuple[list[int], list[int], list[int]]

class MiningEngine:
    """A mining engine shards share one at a time (streamed chunks)."""

    def __init__(self, op_names: list[str]) -> None: ...

class CountSum:
    """A running sum of count lists, kept in the core."""

    def __init__(self) -> None: ...
    def add(self, counts: _Counts) -> None: ...
    def lists(self) -> _Counts: ...

class MiningShard:
    """One shard of a corpus mined round by round (see archmotif.mining.rounds)."""

    def __init__(
        self,
        graphs: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]]
        | tuple[
            npt.NDArray[np.int32],
            npt.NDArray[np.int64],
            npt.NDArray[np.int64],
            npt.NDArray[np.int64],
        ],
        op_names: list[str],
        params: _Params,
        threads: int | None = None,
        engine: MiningEngine | None = None,
        state: bytes | None = None,
    ) -> None: ...
    def suspend(self) -> bytes:
        """This shard's state between rounds, encoded; frees the shared engine."""
    @property
    def num_graphs(self) -> int: ...
    def count(self) -> _Counts:
        """Starts a round: (ids, occurrences, graphs) of candidate merges, by id."""
    def prepare(self) -> None:
        """Starts a round whose counts are known: the candidates, not counted."""
    def apply(self, rules: list[int]) -> _Counts:
        """Applies ranked rules; the merges kept, counted like candidates."""
    def commit(self, rules: list[int]) -> None: ...
    def finish(self, macros: bool = True) -> bytes:
        """The shard's vocabulary statistics and (when ``macros``) macro graphs, encoded."""

def _panic_for_tests(in_pool: bool) -> None:
    """Panics on purpose (directly or in the rayon pool): raises InternalError."""

def rank(counts: list[_Counts], params: _Params) -> list[int]:
    """Sums every shard's counts; the frequent ids, best first."""

def settle(applied: list[_Counts], rules: list[int], params: _Params) -> tuple[list[int], bool]:
    """Sums every shard's ``apply`` counts of ``rules``: the rules that stay, and
    whether they must be applied again."""

def assemble(
    results: list[bytes],
    graphs: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]],
    op_names: list[str],
    rules: list[list[int]],
    params: _Params,
    threads: int | None = None,
) -> tuple[MinedCore, dict[str, Any], list[_Macro]]:
    """Merges shard results (corpus order) into what ``mine`` returns."""

def load_mined(
    data: bytes,
) -> tuple[
    tuple[MinedCore, dict[str, Any], list[_Macro]],
    list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]],
    bytes,
    str,
    _Params,
]:
    """Decodes a mined file (checked; FormatError otherwise): the outputs of ``mine``,
    the graphs as (ops, edges), the caller's extra bytes, the strategy, the parameters."""

def merge_results(results: list[bytes]) -> bytes:
    """Merges encoded shard results (corpus order) as if one shard held them all."""

def context_of(
    ops: npt.NDArray[np.int32],
    edges: npt.NDArray[np.int64],
    num_ops: int,
    nodes: list[int],
    hops: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The context of ``nodes`` in one graph: (nodes, local edges)."""

def contract(
    ops: npt.NDArray[np.int32],
    edges: npt.NDArray[np.int64],
    op_names: list[str],
    partition: npt.NDArray[np.int64],
) -> tuple[_Macro, list[int], list[int], dict[str, Any]]:
    """Contracts one graph by a partition; raises GraphError for a non-convex group."""

def path_sums(
    num_nodes: int,
    edges: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per node: its weights plus the largest of its predecessors' (``[n, k]``), and the
    number of paths from a source to it; raises InvalidArgument on a cycle."""

def reach_forward(
    num_nodes: int,
    edges: npt.NDArray[np.int64],
    seeds: npt.NDArray[np.bool_],
    stop: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]: ...
