//! Glue for canonical ids, mining, applying a vocabulary, contraction and
//! contexts. Converts numpy arrays to slices, runs the core through
//! [`run_blocking`], converts results to numpy arrays and Python ints.

use std::collections::HashMap;
use std::sync::Mutex;

use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use archmotif_core::canon::canonical_form_cancellable;
use archmotif_core::contract::{context_nodes, contract as core_contract, induced_edges};
use archmotif_core::control::Control;
use archmotif_core::hash::op_label;
use archmotif_core::mine::{mine as core_mine, Engine, Form, Strategy};
use archmotif_core::order::canonical_ranks as core_ranks;
use archmotif_core::saved::{self, MinedCorpus};
use archmotif_core::{Dag, Error};

use crate::convert::{
    dags, edges_array, forms_dict, labels_of, macro_tuple, params_of, raw, raws, vocab_dict,
    Graphs, NamedParams,
};
use crate::errors::{invalid_argument, CoreError};
use crate::run::{detached, inline_interruptible, interruptible, run_blocking};

/// (context nodes, context edges in local ids).
type ContextArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray2<i64>>);
/// (macro tuple, motif id per macro node, group label per macro node, forms).
type Contracted<'py> = (Bound<'py, PyAny>, Vec<u128>, Vec<i64>, Bound<'py, PyDict>);

/// Canonical 128-bit id of one graph (validated first); Ctrl-C interrupts it.
#[pyfunction]
pub fn canonical_hash(
    py: Python<'_>,
    ops: PyReadonlyArray1<'_, i32>,
    edges: PyReadonlyArray2<'_, i64>,
    op_names: Vec<String>,
) -> PyResult<u128> {
    let g = raw(&ops, &edges)?;
    let r = inline_interruptible(py, |ctl| {
        let dag = g.validate(op_names.len())?.dag;
        let labels: Vec<u64> = dag
            .ops()
            .iter()
            .map(|&x| op_label(&op_names[x as usize]))
            .collect();
        let edges: Vec<(u32, u32)> = dag.edges().collect();
        Ok::<_, Error>(canonical_form_cancellable(&labels, &edges, ctl)?.id)
    });
    Ok(r?.map_err(CoreError)?)
}

/// The canonical rank of every node of one graph (validated first): the
/// structural order mining breaks ties by, a topological order that depends
/// on structure only (`archmotif_core::order`); Ctrl-C interrupts it.
#[pyfunction]
pub fn canonical_ranks<'py>(
    py: Python<'py>,
    ops: PyReadonlyArray1<'_, i32>,
    edges: PyReadonlyArray2<'_, i64>,
    op_names: Vec<String>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let g = raw(&ops, &edges)?;
    let labels = labels_of(&op_names);
    let r = inline_interruptible(py, |ctl| {
        let dag = g.validate(op_names.len())?.dag;
        core_ranks(&dag, &labels, ctl)
    });
    let ranks = r?.map_err(CoreError)?;
    Ok(PyArray1::from_vec(
        py,
        ranks.into_iter().map(i64::from).collect(),
    ))
}

/// A mined corpus held on the Rust side: everything it was mined into
/// (rules, vocabulary, macro graphs, the validated graphs for contexts) and
/// the engine that applies the vocabulary to new graphs.
#[pyclass(module = "archmotif._core", frozen)]
pub struct MinedCore {
    engine: Mutex<Engine>,
    corpus: MinedCorpus,
    index: HashMap<u128, i32>,
}

/// What `mine`, `assemble` and `load_mined` return to Python: the core object
/// kept for `apply`, `context` and `save`, the vocabulary as a dict of arrays,
/// and one macro tuple per graph.
pub(crate) type Outputs<'py> = (MinedCore, Bound<'py, PyDict>, Vec<Bound<'py, PyAny>>);

#[pyfunction]
#[pyo3(signature = (graphs, op_names, strategy, params, threads=None, progress=None))]
pub fn mine<'py>(
    py: Python<'py>,
    graphs: Graphs<'py>,
    op_names: Vec<String>,
    strategy: &str,
    params: NamedParams,
    threads: Option<usize>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Outputs<'py>> {
    let strategy: Strategy = strategy.parse().map_err(CoreError)?;
    let params = params_of(&params)?;
    let raw = raws(&graphs)?;
    let labels = labels_of(&op_names);
    let ctl = Control::new();
    let out = run_blocking(py, threads, progress.as_ref(), &ctl, || {
        let dags = dags(&raw, op_names.len())?;
        let refs: Vec<&Dag> = dags.iter().collect();
        let (mined, engine) = core_mine(strategy, &refs, &labels, params, &ctl)?;
        let corpus = MinedCorpus {
            strategy,
            params,
            op_names,
            rules: engine.rules().to_vec(),
            mined,
            graphs: dags,
        };
        Ok((corpus, engine))
    })?;
    let (corpus, engine) = out.map_err(CoreError)?;
    outputs(py, engine, corpus)
}

/// [`Outputs`] of a mined corpus and its engine.
pub(crate) fn outputs<'py>(
    py: Python<'py>,
    engine: Engine,
    corpus: MinedCorpus,
) -> PyResult<Outputs<'py>> {
    let vocab = vocab_dict(py, &corpus.mined.vocabulary)?;
    let index: HashMap<u128, i32> = corpus
        .mined
        .vocabulary
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i as i32))
        .collect();
    let macros = corpus
        .mined
        .macros
        .iter()
        .map(|m| macro_tuple(py, m, &index))
        .collect::<PyResult<_>>()?;
    let core = MinedCore {
        engine: Mutex::new(engine),
        corpus,
        index,
    };
    Ok((core, vocab, macros))
}

/// Reads a mined-corpus file's bytes (`MinedCore.save`): the outputs of the
/// corpus it holds, its graphs as (ops, edges) arrays (none when it was saved
/// without them), the caller's extra bytes, the strategy and the parameters.
#[allow(clippy::type_complexity)]
#[pyfunction]
pub fn load_mined<'py>(
    py: Python<'py>,
    data: &[u8],
) -> PyResult<(
    Outputs<'py>,
    Vec<ContextArrays<'py>>,
    Bound<'py, PyBytes>,
    &'static str,
    Vec<(&'static str, u64)>,
)> {
    let decoded = detached(py, || saved::decode(data))?;
    let (corpus, given, extra) = decoded.map_err(CoreError)?;
    let graphs = corpus
        .graphs
        .iter()
        .zip(&given)
        .map(|(g, edges)| {
            let ops: Vec<i64> = g.ops().iter().map(|&o| o as i64).collect();
            Ok((PyArray1::from_vec(py, ops), edges_array(py, edges)?))
        })
        .collect::<PyResult<_>>()?;
    let strategy = match corpus.strategy {
        Strategy::Merge => "merge",
        Strategy::Nar => "nar",
    };
    let params = corpus.params.named();
    let engine = detached(py, || corpus.engine())?;
    Ok((
        outputs(py, engine, corpus)?,
        graphs,
        PyBytes::new(py, &extra),
        strategy,
        params,
    ))
}

#[pymethods]
impl MinedCore {
    /// Contracts new graphs (op ids index this corpus's `op_names`, extended
    /// with any new names by the caller) with the mined vocabulary.
    #[pyo3(signature = (graphs, op_names, threads=None, progress=None))]
    fn apply<'py>(
        &self,
        py: Python<'py>,
        graphs: Graphs<'py>,
        op_names: Vec<String>,
        threads: Option<usize>,
        progress: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let mine = &self.corpus.op_names;
        if op_names.len() < mine.len() || op_names[..mine.len()] != mine[..] {
            return Err(invalid_argument(
                "op_names must extend the mined corpus's op_names",
            ));
        }
        let raw = raws(&graphs)?;
        let labels = labels_of(&op_names);
        let ctl = Control::new();
        let out = run_blocking(py, threads, progress.as_ref(), &ctl, || {
            let dags = dags(&raw, op_names.len())?;
            let refs: Vec<&Dag> = dags.iter().collect();
            let mut engine = self.engine.lock().expect("engine lock");
            engine.extend_labels(&labels);
            engine.apply(&refs, &ctl)
        })?;
        let macros = out.map_err(CoreError)?;
        macros
            .iter()
            .map(|m| macro_tuple(py, m, &self.index))
            .collect()
    }

    /// The context of an instance: its nodes plus their `hops`-hop
    /// neighbourhood in graph `graph`. Returns (nodes, local edges).
    fn context<'py>(
        &self,
        py: Python<'py>,
        graph: usize,
        nodes: Vec<u32>,
        hops: usize,
    ) -> PyResult<ContextArrays<'py>> {
        let dag = self.corpus.graphs.get(graph).ok_or_else(|| {
            pyo3::exceptions::PyIndexError::new_err(format!("graph index {graph} out of range"))
        })?;
        let (ctx, edges) = detached(py, || {
            let ctx = context_nodes(dag, &nodes, hops);
            let edges = induced_edges(dag, &ctx);
            (ctx, edges)
        })?;
        Ok((
            PyArray1::from_vec(py, ctx.into_iter().map(|v| v as i64).collect()),
            edges_array(py, &edges)?,
        ))
    }

    /// The op names the corpus's op ids index.
    #[getter]
    fn op_names(&self) -> Vec<String> {
        self.corpus.op_names.clone()
    }

    /// This corpus in the mined-file encoding, with `extra` bytes of the
    /// caller's, and with its graphs as the caller holds them (op ids into this
    /// corpus's op names) and their macro graphs, or neither when `graphs` is None.
    #[pyo3(signature = (extra, graphs=None))]
    fn save<'py>(
        &self,
        py: Python<'py>,
        extra: &[u8],
        graphs: Option<Graphs<'py>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let raw = match &graphs {
            Some(g) => Some(raws(g)?),
            None => None,
        };
        if let Some(r) = &raw {
            if r.len() != self.corpus.mined.macros.len() {
                return Err(invalid_argument(format!(
                    "{} graphs for {} macro graphs",
                    r.len(),
                    self.corpus.mined.macros.len()
                )));
            }
        }
        let bytes = detached(py, || saved::encode(&self.corpus, raw.as_deref(), extra))?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// The context of `nodes` in one graph given as arrays (what
/// `MinedCore.context` does for a graph the core holds): those nodes plus their
/// `hops`-hop neighbourhood. Returns (nodes, local edges).
#[pyfunction]
pub fn context_of<'py>(
    py: Python<'py>,
    ops: PyReadonlyArray1<'py, i32>,
    edges: PyReadonlyArray2<'py, i64>,
    num_ops: usize,
    nodes: Vec<u32>,
    hops: usize,
) -> PyResult<ContextArrays<'py>> {
    let g = raw(&ops, &edges)?;
    let r = detached(py, || {
        let dag = g.validate(num_ops)?.dag;
        if let Some(&v) = nodes.iter().find(|&&v| v as usize >= dag.num_nodes()) {
            return Err(archmotif_core::Error::InvalidArgument(format!(
                "node {v} out of range ({} nodes)",
                dag.num_nodes()
            )));
        }
        let ctx = context_nodes(&dag, &nodes, hops);
        let edges = induced_edges(&dag, &ctx);
        Ok((ctx, edges))
    });
    let (ctx, edges) = r?.map_err(CoreError)?;
    Ok((
        PyArray1::from_vec(py, ctx.into_iter().map(|v| v as i64).collect()),
        edges_array(py, &edges)?,
    ))
}

/// Contracts one graph by a user partition; Ctrl-C interrupts it.
#[pyfunction]
pub fn contract<'py>(
    py: Python<'py>,
    ops: PyReadonlyArray1<'py, i32>,
    edges: PyReadonlyArray2<'py, i64>,
    op_names: Vec<String>,
    partition: PyReadonlyArray1<'py, i64>,
) -> PyResult<Contracted<'py>> {
    let g = raw(&ops, &edges)?;
    let part = partition.as_slice()?;
    let labels = labels_of(&op_names);
    let ctl = Control::new();
    let r = interruptible(py, &ctl, || {
        let dag = g.validate(op_names.len())?.dag;
        core_contract(&dag, &labels, part, &ctl)
    });
    let (m, groups, forms) = r?.map_err(CoreError)?;
    let index: HashMap<u128, i32> = HashMap::new();
    let form_refs: Vec<&Form> = forms.iter().collect();
    Ok((
        macro_tuple(py, &m, &index)?,
        m.motif_ids.clone(),
        groups,
        forms_dict(py, &form_refs)?,
    ))
}
