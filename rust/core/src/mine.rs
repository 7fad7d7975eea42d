//! Mining entry point: [`mine`] runs a [`Strategy`] over a corpus and returns
//! the vocabulary, the macro graphs and an [`Engine`] that contracts new graphs
//! the same way. The merge strategy is the driver of [`crate::shard`] with the
//! whole corpus as one shard, over the rounds of [`crate::round`].
//!
//! [`Params`] are named here ([`Params::named`], [`Params::from_named`]): the one
//! place a caller (the Python glue, a saved file) turns names into parameters.
//!
//! Arrows point one way: `mine` -> `shard` -> `round` -> `motif`.

use crate::control::Control;
use crate::error::{Error, Result};
use crate::graph::Dag;
use crate::nar::{mine_nar, segment_all};
use crate::shard::{assemble, drive, Shard};

pub use crate::motif::{Form, Key, Macro, Mined, Motif, Params, Strategy, MAX_MOTIF_NODES};
pub use crate::round::Miner;

impl Miner {
    /// Mines `graphs` (op ids index `op_labels`): the coordinator loop of
    /// [`crate::shard`] with the whole corpus as one shard. Afterwards this miner
    /// holds every level's rules, to [`Miner::apply`] them to new graphs.
    pub fn mine(&mut self, graphs: &[&Dag], params: Params, ctl: &Control) -> Result<Mined> {
        Ok(self.mine_levels(graphs, params, ctl)?.0)
    }

    /// [`Miner::mine`], also returning the rules of each level.
    fn mine_levels(
        &mut self,
        graphs: &[&Dag],
        params: Params,
        ctl: &Control,
    ) -> Result<(Mined, Vec<Vec<u128>>)> {
        let shard = Shard::start(self.op_labels().to_vec(), graphs, params, ctl)?;
        let mut shards = [(shard, graphs.to_vec())];
        let levels = drive(&mut shards, params, ctl)?;
        let [(shard, _)] = shards;
        let (result, miner) = shard.finish(graphs);
        *self = miner;
        let (vocabulary, macros) = assemble(vec![result]);
        Ok((Mined { vocabulary, macros }, levels))
    }
}

impl Params {
    /// The parameters by name, in a fixed order.
    pub fn named(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("min_count", self.min_count),
            ("min_support", self.min_support),
            ("max_motif_nodes", self.max_motif_nodes as u64),
            ("max_levels", self.max_levels as u64),
        ]
    }

    /// Parameters from (name, value) pairs, each of [`Params::named`] exactly
    /// once, checked ([`Params::check`]); anything else is an
    /// [`Error::InvalidArgument`] naming it.
    pub fn from_named<S: AsRef<str>>(pairs: &[(S, u64)]) -> Result<Params> {
        let mut p = Params {
            min_count: 0,
            min_support: 0,
            max_motif_nodes: 0,
            max_levels: 0,
        };
        let names: Vec<&str> = p.named().iter().map(|(n, _)| *n).collect();
        let mut seen = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), *value);
            if seen.contains(&name) {
                return Err(Error::InvalidArgument(format!(
                    "mining parameter {name} given twice"
                )));
            }
            seen.push(name);
            let size = || {
                usize::try_from(value).map_err(|_| {
                    Error::InvalidArgument(format!("{name} = {value} does not fit this machine"))
                })
            };
            match name {
                "min_count" => p.min_count = value,
                "min_support" => p.min_support = value,
                "max_motif_nodes" => p.max_motif_nodes = size()?,
                "max_levels" => p.max_levels = size()?,
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "unknown mining parameter {name:?}; the mining parameters are {}",
                        names.join(", ")
                    )))
                }
            }
        }
        if let Some(missing) = names.iter().find(|n| !seen.contains(n)) {
            return Err(Error::InvalidArgument(format!(
                "mining parameter {missing} missing"
            )));
        }
        p.check()?;
        Ok(p)
    }
}

/// What contracts new graphs like a mined corpus: the merge rules (kept
/// beside the miner that applies them, to be saved), or the segmentation
/// parameters of `nar`.
#[derive(Debug)]
pub enum Engine {
    Merge {
        miner: Miner,
        rules: Vec<Vec<u128>>,
    },
    Nar {
        op_labels: Vec<u64>,
        max_motif_nodes: usize,
    },
}

impl Engine {
    /// The engine of a corpus mined with `strategy` and `params` into
    /// `vocabulary` by `rules` (one list per level, best first; none for `nar`).
    pub fn new(
        strategy: Strategy,
        op_labels: Vec<u64>,
        rules: Vec<Vec<u128>>,
        vocabulary: &[Motif],
        params: Params,
    ) -> Engine {
        match strategy {
            Strategy::Merge => Engine::Merge {
                miner: Miner::with_rules(op_labels, rules.clone(), vocabulary),
                rules,
            },
            Strategy::Nar => Engine::Nar {
                op_labels,
                max_motif_nodes: params.max_motif_nodes,
            },
        }
    }

    /// The rules of each level (none for `nar`).
    pub fn rules(&self) -> &[Vec<u128>] {
        match self {
            Engine::Merge { rules, .. } => rules,
            Engine::Nar { .. } => &[],
        }
    }

    /// Extends the op labels for new op ids (existing ids keep their labels).
    pub fn extend_labels(&mut self, labels: &[u64]) {
        match self {
            Engine::Merge { miner, .. } => miner.extend_labels(labels),
            Engine::Nar { op_labels, .. } => {
                if labels.len() > op_labels.len() {
                    op_labels.extend_from_slice(&labels[op_labels.len()..]);
                }
            }
        }
    }

    /// Contracts `graphs` with what was mined.
    pub fn apply(&mut self, graphs: &[&Dag], ctl: &Control) -> Result<Vec<Macro>> {
        match self {
            Engine::Merge { miner, .. } => miner.apply(graphs, ctl),
            Engine::Nar {
                op_labels,
                max_motif_nodes,
            } => Ok(segment_all(graphs, op_labels, *max_motif_nodes, ctl)?
                .into_iter()
                .map(|(m, _)| m)
                .collect()),
        }
    }
}

/// Mines `graphs` (op ids index `op_labels`) with `strategy`.
pub fn mine(
    strategy: Strategy,
    graphs: &[&Dag],
    op_labels: &[u64],
    params: Params,
    ctl: &Control,
) -> Result<(Mined, Engine)> {
    match strategy {
        Strategy::Merge => {
            let mut miner = Miner::new(op_labels.to_vec());
            let (mined, rules) = miner.mine_levels(graphs, params, ctl)?;
            Ok((mined, Engine::Merge { miner, rules }))
        }
        Strategy::Nar => Ok((
            mine_nar(graphs, op_labels, params, ctl)?,
            Engine::Nar {
                op_labels: op_labels.to_vec(),
                max_motif_nodes: params.max_motif_nodes,
            },
        )),
    }
}
