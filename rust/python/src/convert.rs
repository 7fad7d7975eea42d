//! The one conversion module of the glue: Python's arrays and lists into the
//! core's types and back (graphs, macro graphs, vocabularies, count lists,
//! mining parameters). Nothing here decides anything; a value that cannot be
//! converted is an `archmotif.InvalidArgument`.

use std::collections::HashMap;

use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use archmotif_core::batch::{validate_all, RawGraph};
use archmotif_core::hash::op_label;
use archmotif_core::mine::{Form, Macro, Motif, Params};
use archmotif_core::shard::Counts;
use archmotif_core::Dag;

use crate::errors::{invalid_argument, CoreError};

/// Splits a C-contiguous `[2, E]` int64 array into (sources, targets).
pub(crate) fn edge_rows<'a>(
    edges: &'a PyReadonlyArray2<'_, i64>,
) -> PyResult<(&'a [i64], &'a [i64])> {
    let shape = edges.shape();
    if shape[0] != 2 {
        return Err(invalid_argument(format!(
            "edges must have shape [2, E], got {shape:?}"
        )));
    }
    let flat = edges
        .as_slice()
        .map_err(|_| invalid_argument("edges must be a C-contiguous array"))?;
    Ok(flat.split_at(shape[1]))
}

/// Graphs as Python hands them over: (ops, edges `[2, E]`) numpy arrays.
pub(crate) type Graphs<'py> = Vec<(PyReadonlyArray1<'py, i32>, PyReadonlyArray2<'py, i64>)>;

/// A borrowed view of one graph's arrays (ops, edges `[2, E]`).
pub(crate) fn raw<'a>(
    ops: &'a PyReadonlyArray1<'_, i32>,
    edges: &'a PyReadonlyArray2<'_, i64>,
) -> PyResult<RawGraph<'a>> {
    let (src, dst) = edge_rows(edges)?;
    Ok(RawGraph {
        ops: ops.as_slice()?,
        src,
        dst,
    })
}

/// Borrowed views of `graphs`' arrays.
pub(crate) fn raws<'a>(
    graphs: &'a [(PyReadonlyArray1<'_, i32>, PyReadonlyArray2<'_, i64>)],
) -> PyResult<Vec<RawGraph<'a>>> {
    graphs.iter().map(|(o, e)| raw(o, e)).collect()
}

/// The graphs of a corpus's layout (concatenated arrays with offsets, see
/// `archmotif.corpus`), checked to be consistent.
pub(crate) fn flat_raws<'a>(
    ops: &'a PyReadonlyArray1<'_, i32>,
    node_offsets: &'a PyReadonlyArray1<'_, i64>,
    edges: &'a PyReadonlyArray2<'_, i64>,
    edge_offsets: &'a PyReadonlyArray1<'_, i64>,
) -> PyResult<Vec<RawGraph<'a>>> {
    let ops_s = ops.as_slice()?;
    let (src, dst) = edge_rows(edges)?;
    let noff = node_offsets.as_slice()?;
    let eoff = edge_offsets.as_slice()?;
    let bad_offsets =
        |what: &str| invalid_argument(format!("corpus {what} offsets are inconsistent"));
    if noff.len() != eoff.len() || noff.is_empty() {
        return Err(bad_offsets("node/edge"));
    }
    let check = |off: &[i64], total: usize| {
        off[0] == 0
            && *off.last().unwrap() as usize == total
            && off.windows(2).all(|w| w[0] <= w[1])
    };
    if !check(noff, ops_s.len()) {
        return Err(bad_offsets("node"));
    }
    if !check(eoff, src.len()) {
        return Err(bad_offsets("edge"));
    }
    let raws: Vec<RawGraph<'_>> = (0..noff.len() - 1)
        .map(|g| {
            let (a, b) = (noff[g] as usize, noff[g + 1] as usize);
            let (c, d) = (eoff[g] as usize, eoff[g + 1] as usize);
            RawGraph {
                ops: &ops_s[a..b],
                src: &src[c..d],
                dst: &dst[c..d],
            }
        })
        .collect();
    Ok(raws)
}

/// Graphs in either form Python hands them over: a list of (ops, edges)
/// pairs, or a corpus's layout `(ops, node_offsets, edges, edge_offsets)`
/// (one array each, no object per graph: what a streamed chunk is).
#[derive(FromPyObject)]
pub(crate) enum GraphArrays<'py> {
    Flat(
        PyReadonlyArray1<'py, i32>,
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray2<'py, i64>,
        PyReadonlyArray1<'py, i64>,
    ),
    List(Graphs<'py>),
}

impl GraphArrays<'_> {
    pub(crate) fn raws(&self) -> PyResult<Vec<RawGraph<'_>>> {
        match self {
            GraphArrays::Flat(o, no, e, eo) => flat_raws(o, no, e, eo),
            GraphArrays::List(g) => raws(g),
        }
    }
}

/// The validated graphs, by the core (in parallel; the first bad graph's error).
pub(crate) fn dags(raws: &[RawGraph<'_>], num_ops: usize) -> archmotif_core::Result<Vec<Dag>> {
    validate_all(num_ops, raws)
        .into_iter()
        .map(|r| r.map(|v| v.dag))
        .collect()
}

pub(crate) fn edges_array<'py>(
    py: Python<'py>,
    edges: &[(u32, u32)],
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let mut flat: Vec<i64> = edges.iter().map(|&(a, _)| a as i64).collect();
    flat.extend(edges.iter().map(|&(_, b)| b as i64));
    PyArray1::from_vec(py, flat).reshape([2, edges.len()])
}

/// (motifs, node_to_macro, edges, weights) of a macro graph; `index` maps
/// motif ids to vocabulary indices (-1 when absent).
pub(crate) fn macro_tuple<'py>(
    py: Python<'py>,
    m: &Macro,
    index: &HashMap<u128, i32>,
) -> PyResult<Bound<'py, PyAny>> {
    let motifs: Vec<i32> = m
        .motif_ids
        .iter()
        .map(|id| *index.get(id).unwrap_or(&-1))
        .collect();
    let n2m: Vec<i32> = m.node_to_macro.iter().map(|&x| x as i32).collect();
    let weights: Vec<i64> = m.quotient.weights.iter().map(|&w| w as i64).collect();
    Ok((
        PyArray1::from_vec(py, motifs),
        PyArray1::from_vec(py, n2m),
        edges_array(py, &m.quotient.edges)?,
        PyArray1::from_vec(py, weights),
    )
        .into_pyobject(py)?
        .into_any())
}

pub(crate) fn forms_dict<'py>(py: Python<'py>, forms: &[&Form]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let mut ops = Vec::new();
    let mut op_off = vec![0i64];
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut edge_off = vec![0i64];
    for f in forms {
        ops.extend(f.ops.iter().map(|&o| o as i32));
        op_off.push(ops.len() as i64);
        edges.extend_from_slice(&f.edges);
        edge_off.push(edges.len() as i64);
    }
    d.set_item("ops", PyArray1::from_vec(py, ops))?;
    d.set_item("op_offsets", PyArray1::from_vec(py, op_off))?;
    d.set_item("edges", edges_array(py, &edges)?)?;
    d.set_item("edge_offsets", PyArray1::from_vec(py, edge_off))?;
    Ok(d)
}

pub(crate) fn vocab_dict<'py>(py: Python<'py>, vocab: &[Motif]) -> PyResult<Bound<'py, PyDict>> {
    let forms: Vec<&Form> = vocab.iter().map(|m| &m.form).collect();
    let d = forms_dict(py, &forms)?;
    let index: HashMap<u128, i32> = vocab
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i as i32))
        .collect();
    d.set_item("ids", vocab.iter().map(|m| m.id).collect::<Vec<u128>>())?;
    d.set_item(
        "level",
        PyArray1::from_vec(py, vocab.iter().map(|m| m.level as i32).collect()),
    )?;
    d.set_item(
        "count",
        PyArray1::from_vec(py, vocab.iter().map(|m| m.count as i64).collect()),
    )?;
    d.set_item(
        "support",
        PyArray1::from_vec(py, vocab.iter().map(|m| m.support as i64).collect()),
    )?;
    let children: Vec<Vec<i32>> = vocab
        .iter()
        .map(|m| {
            m.children
                .iter()
                .map(|c| *index.get(c).unwrap_or(&-1))
                .collect()
        })
        .collect();
    d.set_item("children", children)?;
    Ok(d)
}

pub(crate) fn labels_of(op_names: &[String]) -> Vec<u64> {
    op_names.iter().map(|n| op_label(n)).collect()
}

/// Mining parameters as Python hands them over: (name, value) pairs of
/// `archmotif.mining.MiningParams`, named and checked by the core.
pub(crate) type NamedParams = Vec<(String, u64)>;

pub(crate) fn params_of(named: &NamedParams) -> PyResult<Params> {
    Ok(Params::from_named(named).map_err(CoreError)?)
}

/// Counts as parallel lists sorted by id: (ids, occurrences, graphs).
pub(crate) type CountLists = (Vec<u128>, Vec<u64>, Vec<u64>);

/// One shard's counts from its lists (ids are distinct within a shard).
pub(crate) fn counts_of((ids, counts, supports): CountLists) -> PyResult<Counts> {
    if ids.len() != counts.len() || ids.len() != supports.len() {
        return Err(invalid_argument(
            "ids, counts and supports differ in length",
        ));
    }
    Ok(ids
        .into_iter()
        .zip(counts.into_iter().zip(supports))
        .collect())
}

pub(crate) fn lists(c: Counts) -> CountLists {
    let mut v: Vec<(u128, (u64, u64))> = c.into_iter().collect();
    v.sort_unstable_by_key(|(id, _)| *id);
    (
        v.iter().map(|(id, _)| *id).collect(),
        v.iter().map(|(_, (n, _))| *n).collect(),
        v.iter().map(|(_, (_, s))| *s).collect(),
    )
}
