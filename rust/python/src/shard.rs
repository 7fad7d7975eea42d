//! Glue for mining in shards (the round coordinator of `archmotif.mining.rounds`):
//! a [`MiningShard`] per shard, and the coordinator's steps, [`rank`],
//! [`merge_results`] and [`assemble`]. The round loop itself is a few lines of
//! Python that move counts between them; every decision is made in the core
//! (`archmotif_core::shard`), this module only converts.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use archmotif_core::control::Control;
use archmotif_core::hash::op_label;
use archmotif_core::mine::{Engine, Mined, Miner, Strategy};
use archmotif_core::saved::MinedCorpus;
use archmotif_core::shard::{self, Counts, Shard};
use archmotif_core::{batch, wire, Dag};

use crate::convert::{
    counts_of, dags, lists, params_of, raws, CountLists, GraphArrays, Graphs, NamedParams,
};
use crate::errors::CoreError;
use crate::mining::{outputs, Outputs};
use crate::run::{detached, run_blocking};

fn finished() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("this mining shard has already finished")
}

/// A mining engine several shards share, one at a time (streamed mining: the
/// chunks of a corpus, each resumed from its state on disk): the forms and
/// candidate unions canonicalised so far, so no chunk canonicalises them again.
#[pyclass(module = "archmotif._core", frozen)]
pub struct MiningEngine {
    miner: Mutex<Option<Miner>>,
}

#[pymethods]
impl MiningEngine {
    #[new]
    fn new(op_names: Vec<String>) -> Self {
        let labels: Vec<u64> = op_names.iter().map(|n| op_label(n)).collect();
        MiningEngine {
            miner: Mutex::new(Some(Miner::new(labels))),
        }
    }
}

impl MiningEngine {
    fn take(&self) -> PyResult<Miner> {
        self.miner
            .lock()
            .expect("engine lock")
            .take()
            .ok_or_else(|| {
                pyo3::exceptions::PyRuntimeError::new_err(
                    "this mining engine is in use by another shard",
                )
            })
    }

    fn give_back(&self, miner: Miner) {
        *self.miner.lock().expect("engine lock") = Some(miner);
    }
}

/// One shard of a corpus being mined: its validated graphs and their
/// partitions between rounds.
#[pyclass(module = "archmotif._core", frozen)]
pub struct MiningShard {
    dags: Vec<Dag>,
    /// The fingerprint of the graphs' arrays, written into every state.
    fingerprint: u128,
    state: Mutex<Option<Shard>>,
    threads: Option<usize>,
    /// The shared engine this shard took its miner from, to give it back.
    engine: Option<Py<MiningEngine>>,
}

impl MiningShard {
    fn step<T: Send>(
        &self,
        py: Python<'_>,
        work: impl FnOnce(&mut Shard, &[&Dag], &Control) -> archmotif_core::Result<T> + Send,
    ) -> PyResult<T> {
        let mut guard = self.state.lock().expect("shard lock");
        let shard = guard.as_mut().ok_or_else(finished)?;
        let refs: Vec<&Dag> = self.dags.iter().collect();
        let ctl = Control::new();
        let out = run_blocking(py, self.threads, None, &ctl, || work(shard, &refs, &ctl))?;
        Ok(out.map_err(CoreError)?)
    }
}

#[pymethods]
impl MiningShard {
    /// A shard of `graphs` (a list of (ops, edges) pairs or a corpus's layout
    /// `(ops, node_offsets, edges, edge_offsets)`): started afresh (the graphs
    /// validated), or resumed from `state` (what `suspend` returned for the same
    /// arrays: their fingerprint must match, and they are rebuilt, not validated
    /// again); with its own engine, or with the shared `engine`, which it holds
    /// until `suspend` or `finish`.
    #[new]
    #[pyo3(signature = (graphs, op_names, params, threads=None, engine=None, state=None))]
    fn new(
        py: Python<'_>,
        graphs: GraphArrays<'_>,
        op_names: Vec<String>,
        params: NamedParams,
        threads: Option<usize>,
        engine: Option<Py<MiningEngine>>,
        state: Option<&[u8]>,
    ) -> PyResult<Self> {
        let raw = graphs.raws()?;
        let labels: Vec<u64> = op_names.iter().map(|n| op_label(n)).collect();
        let params = params_of(&params)?;
        let miner = match &engine {
            Some(e) => e.get().take()?,
            None => Miner::new(labels),
        };
        let ctl = Control::new();
        let out = run_blocking(py, threads, None, &ctl, || {
            let fingerprint = batch::fingerprint(&raw);
            let (dags, st) = match state {
                None => (dags(&raw, op_names.len())?, None),
                Some(bytes) => {
                    let sizes: Vec<usize> = raw.iter().map(|g| g.ops.len()).collect();
                    let st = wire::decode_state(bytes, &sizes, fingerprint)?;
                    (batch::rebuild_all(op_names.len(), &raw)?, Some(st))
                }
            };
            let refs: Vec<&Dag> = dags.iter().collect();
            let shard = match st {
                None => Shard::start_with(miner, &refs, params, &ctl),
                Some(st) => Shard::resume(miner, st, &refs, params),
            }?;
            Ok((dags, shard, fingerprint))
        })?;
        // (on an error the shared engine's miner is lost with it: the run is over)
        let (dags, shard, fingerprint) = out.map_err(CoreError)?;
        Ok(MiningShard {
            dags,
            fingerprint,
            state: Mutex::new(Some(shard)),
            threads,
            engine,
        })
    }

    /// Steps aside between rounds: this shard's state, encoded (to resume from
    /// with the same graphs); the shared engine is free again.
    fn suspend<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let shard = self
            .state
            .lock()
            .expect("shard lock")
            .take()
            .ok_or_else(finished)?;
        let (bytes, miner) = detached(py, || {
            let (state, miner) = shard.suspend();
            (wire::encode_state(&state, self.fingerprint), miner)
        })?;
        if let Some(e) = &self.engine {
            e.get().give_back(miner);
        }
        Ok(PyBytes::new(py, &bytes))
    }

    /// Starts a round: this shard's candidate counts.
    fn count(&self, py: Python<'_>) -> PyResult<CountLists> {
        self.step(py, |s, g, ctl| s.count(g, ctl)).map(lists)
    }

    /// Starts a round whose counts the caller has (taken before a suspend):
    /// the candidates `apply` needs, not counted again (nor found again when
    /// the state kept them).
    fn prepare(&self, py: Python<'_>) -> PyResult<()> {
        self.step(py, |s, g, ctl| s.prepare(g, ctl))
    }

    /// Applies ranked rules; returns the merges kept, counted.
    fn apply(&self, py: Python<'_>, rules: Vec<u128>) -> PyResult<CountLists> {
        self.step(py, move |s, g, ctl| s.apply(g, &rules, ctl))
            .map(lists)
    }

    /// Keeps the last `apply` as the next level.
    fn commit(&self, rules: Vec<u128>) -> PyResult<()> {
        let mut guard = self.state.lock().expect("shard lock");
        guard.as_mut().ok_or_else(finished)?.commit(rules);
        Ok(())
    }

    /// Ends mining: this shard's result, encoded for the coordinator; without
    /// its macro graphs when `macros` is false (streamed mining keeps only the
    /// vocabulary statistics).
    #[pyo3(signature = (macros=true))]
    fn finish<'py>(&self, py: Python<'py>, macros: bool) -> PyResult<Bound<'py, PyBytes>> {
        let shard = self
            .state
            .lock()
            .expect("shard lock")
            .take()
            .ok_or_else(finished)?;
        let refs: Vec<&Dag> = self.dags.iter().collect();
        let (bytes, miner) = detached(py, || {
            let (mut result, miner) = shard.finish(&refs);
            if !macros {
                result.macros.clear();
            }
            (wire::encode(&result), miner)
        })?;
        if let Some(e) = &self.engine {
            e.get().give_back(miner);
        }
        Ok(PyBytes::new(py, &bytes))
    }

    #[getter]
    fn num_graphs(&self) -> usize {
        self.dags.len()
    }
}

/// A running sum of count lists (streamed mining adds each chunk's as it goes,
/// so the coordinator holds one total, not every chunk's counts).
#[pyclass(module = "archmotif._core")]
#[derive(Default)]
pub struct CountSum {
    total: Counts,
}

#[pymethods]
impl CountSum {
    #[new]
    fn new() -> Self {
        CountSum::default()
    }

    /// Adds one shard's counts.
    fn add(&mut self, counts: CountLists) -> PyResult<()> {
        shard::add_counts(&mut self.total, &counts_of(counts)?);
        Ok(())
    }

    /// The total, as count lists sorted by id.
    fn lists(&self) -> CountLists {
        lists(self.total.clone())
    }
}

/// Every shard's counts summed and ranked by the core: the frequent ids under
/// `params`, best first.
#[pyfunction]
pub fn rank(counts: Vec<CountLists>, params: NamedParams) -> PyResult<Vec<u128>> {
    let params = params_of(&params)?;
    let counts = counts
        .into_iter()
        .map(counts_of)
        .collect::<PyResult<Vec<_>>>()?;
    Ok(shard::rank(&counts, params))
}

/// Settles a round from every shard's `apply` counts of `rules` (the core
/// decides, `archmotif_core::shard::settle`): the rules that stay, and whether
/// they must be applied again.
#[pyfunction]
pub fn settle(
    applied: Vec<CountLists>,
    rules: Vec<u128>,
    params: NamedParams,
) -> PyResult<(Vec<u128>, bool)> {
    let params = params_of(&params)?;
    let applied = applied
        .into_iter()
        .map(counts_of)
        .collect::<PyResult<Vec<_>>>()?;
    Ok(shard::settle(&applied, &rules, params))
}

/// Merges encoded shard results (in corpus order) into one encoded result, as
/// if one shard had held all their graphs.
#[pyfunction]
pub fn merge_results<'py>(py: Python<'py>, results: Vec<Vec<u8>>) -> PyResult<Bound<'py, PyBytes>> {
    let merged = detached(py, || {
        let decoded = results
            .iter()
            .map(|b| wire::decode(b))
            .collect::<archmotif_core::Result<Vec<_>>>()?;
        Ok::<_, archmotif_core::Error>(wire::encode(&shard::merge(decoded)))
    })?;
    let bytes = merged.map_err(CoreError)?;
    Ok(PyBytes::new(py, &bytes))
}

/// Merges encoded shard results (in corpus order) into what `mine` returns.
#[pyfunction]
#[pyo3(signature = (results, graphs, op_names, rules, params, threads=None))]
pub fn assemble<'py>(
    py: Python<'py>,
    results: Vec<Vec<u8>>,
    graphs: Graphs<'py>,
    op_names: Vec<String>,
    rules: Vec<Vec<u128>>,
    params: NamedParams,
    threads: Option<usize>,
) -> PyResult<Outputs<'py>> {
    let raw = raws(&graphs)?;
    let params = params_of(&params)?;
    let ctl = Control::new();
    let out = run_blocking(py, threads, None, &ctl, || {
        let decoded = results
            .iter()
            .map(|b| wire::decode(b))
            .collect::<archmotif_core::Result<Vec<_>>>()?;
        let (vocabulary, macros) = shard::assemble(decoded);
        if macros.len() != raw.len() {
            return Err(archmotif_core::Error::Format(format!(
                "{} macro graphs for {} graphs",
                macros.len(),
                raw.len()
            )));
        }
        let dags = dags(&raw, op_names.len())?;
        let corpus = MinedCorpus {
            strategy: Strategy::Merge,
            params,
            op_names,
            rules,
            mined: Mined { vocabulary, macros },
            graphs: dags,
        };
        let engine: Engine = corpus.engine();
        Ok((corpus, engine))
    })?;
    let (corpus, engine) = out.map_err(CoreError)?;
    outputs(py, engine, corpus)
}
