//! Glue for `archmotif_core::normalize`: numpy in and out, GIL released.

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::convert::edge_rows;
use crate::errors::CoreError;
use crate::run::detached;

/// Which nodes are reachable from `seeds` without leaving a `stop` node
/// (`archmotif_core::normalize::reach_forward`).
#[pyfunction]
pub fn reach_forward<'py>(
    py: Python<'py>,
    num_nodes: usize,
    edges: PyReadonlyArray2<'py, i64>,
    seeds: PyReadonlyArray1<'py, bool>,
    stop: PyReadonlyArray1<'py, bool>,
) -> PyResult<Bound<'py, PyArray1<bool>>> {
    let (src, dst) = edge_rows(&edges)?;
    let (seeds, stop) = (seeds.as_slice()?, stop.as_slice()?);
    let result = detached(py, || {
        archmotif_core::normalize::reach_forward(num_nodes, src, dst, seeds, stop)
    })?;
    Ok(PyArray1::from_vec(py, result.map_err(CoreError)?))
}
