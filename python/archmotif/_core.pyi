"""Type stubs for the Rust extension ``archmotif._core`` (hand-checked against
``rust/python/src/lib.rs``; tests/test_core_stub.py compares the names)."""

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
) -> list[npt.NDArray[np.int64] | None]:
    """Validates many concatenated graphs in parallel (GIL released)."""
