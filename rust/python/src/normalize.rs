//! Glue for `archmotif_core::normalize` and `archmotif_core::paths`: numpy in and
//! out, GIL released.

use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::convert::edge_rows;
use crate::errors::invalid_argument;
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

/// Path sums of a DAG (`archmotif_core::paths::path_sums`): for `weights`
/// `[num_nodes, k]`, `(best [num_nodes, k], paths [num_nodes])`.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn path_sums<'py>(
    py: Python<'py>,
    num_nodes: usize,
    edges: PyReadonlyArray2<'py, i64>,
    weights: PyReadonlyArray2<'py, f64>,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyArray1<f64>>)> {
    let (src, dst) = edge_rows(&edges)?;
    let k = weights.shape()[1];
    let w = weights
        .as_slice()
        .map_err(|_| invalid_argument("weights must be a C-contiguous array"))?;
    let result = detached(py, || {
        archmotif_core::paths::path_sums(num_nodes, src, dst, w, k)
    })?;
    let (best, paths) = result.map_err(CoreError)?;
    let best = PyArray1::from_vec(py, best).reshape([num_nodes, k])?;
    Ok((best, PyArray1::from_vec(py, paths)))
}
