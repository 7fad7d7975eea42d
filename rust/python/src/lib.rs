//! PyO3 glue: converts numpy arrays to slices, calls archmotif-core with the GIL
//! released, converts results back and maps core errors to archmotif's Python
//! exception classes. No graph logic lives here.

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use archmotif_core::batch::validate_all;

mod convert;
mod errors;
mod mining;
mod normalize;
mod run;
mod shard;

use convert::{flat_raws, raw};
use errors::{to_pyerr, CoreError};
use run::detached;

// glibc returns large freed blocks to the kernel and pays for zeroed pages on the
// next allocation; mining allocates and frees per-round arrays of corpus size,
// which made page clearing a third of the run time. mimalloc keeps them.
// `no_thp`: mimalloc otherwise marks its regions MADV_HUGEPAGE, and the kernel
// then zeroes a whole 2 MiB page on the first touch of any byte in it; with
// 4 KiB pages a 10^6-node mine spends about a third as long in page clearing
// (benches/README.md, "Mining core v2"). This only stops mimalloc asking for huge
// pages; unlike MIMALLOC_ALLOW_THP=0 it does not switch THP off for the host
// Python process (numpy, torch).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Validates one graph. Returns the indices of the edges kept when duplicates
/// were dropped, or None when every edge was kept.
#[pyfunction]
fn validate_graph<'py>(
    py: Python<'py>,
    ops: PyReadonlyArray1<'py, i32>,
    edges: PyReadonlyArray2<'py, i64>,
    num_ops: usize,
) -> PyResult<Option<Bound<'py, PyArray1<i64>>>> {
    let g = raw(&ops, &edges)?;
    let result = detached(py, || g.validate(num_ops))?;
    let validated = result.map_err(CoreError)?;
    Ok(validated
        .kept_edges
        .map(|k| PyArray1::from_vec(py, k.into_iter().map(|i| i as i64).collect())))
}

/// Validates many graphs laid out as concatenated arrays with offsets, in
/// parallel. Returns, per graph, the kept-edge indices (or None). The first
/// failing graph (lowest index) raises, with its index (plus `first`, the
/// corpus index of the first graph given) in the message.
#[pyfunction]
#[pyo3(signature = (ops, node_offsets, edges, edge_offsets, num_ops, first=0))]
fn validate_graphs<'py>(
    py: Python<'py>,
    ops: PyReadonlyArray1<'py, i32>,
    node_offsets: PyReadonlyArray1<'py, i64>,
    edges: PyReadonlyArray2<'py, i64>,
    edge_offsets: PyReadonlyArray1<'py, i64>,
    num_ops: usize,
    first: usize,
) -> PyResult<Vec<Option<Bound<'py, PyArray1<i64>>>>> {
    let raws = flat_raws(&ops, &node_offsets, &edges, &edge_offsets)?;
    let results = detached(py, || validate_all(num_ops, &raws))?;
    let mut out = Vec::with_capacity(results.len());
    for (g, r) in results.into_iter().enumerate() {
        match r {
            Ok(v) => out.push(
                v.kept_edges
                    .map(|k| PyArray1::from_vec(py, k.into_iter().map(|i| i as i64).collect())),
            ),
            Err(e) => {
                let err = to_pyerr(py, e);
                let msg = format!("graph {}: {}", first + g, err.value(py));
                return Err(PyErr::from_type(err.get_type(py), msg));
            }
        }
    }
    Ok(out)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(validate_graph, m)?)?;
    m.add_function(wrap_pyfunction!(validate_graphs, m)?)?;
    m.add_function(wrap_pyfunction!(mining::canonical_hash, m)?)?;
    m.add_function(wrap_pyfunction!(mining::canonical_ranks, m)?)?;
    m.add_function(wrap_pyfunction!(mining::mine, m)?)?;
    m.add_function(wrap_pyfunction!(mining::contract, m)?)?;
    m.add_class::<mining::MinedCore>()?;
    m.add_class::<shard::MiningShard>()?;
    m.add_class::<shard::MiningEngine>()?;
    m.add_class::<shard::CountSum>()?;
    m.add_function(wrap_pyfunction!(run::_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(shard::rank, m)?)?;
    m.add_function(wrap_pyfunction!(shard::settle, m)?)?;
    m.add_function(wrap_pyfunction!(shard::assemble, m)?)?;
    m.add_function(wrap_pyfunction!(shard::merge_results, m)?)?;
    m.add_function(wrap_pyfunction!(mining::context_of, m)?)?;
    m.add_function(wrap_pyfunction!(mining::load_mined, m)?)?;
    m.add_function(wrap_pyfunction!(normalize::reach_forward, m)?)?;
    m.add_function(wrap_pyfunction!(normalize::path_sums, m)?)?;
    Ok(())
}
