//! Mining entry point: [`mine`] runs a [`Strategy`] over a corpus and returns
//! the vocabulary, the macro graphs and an [`Engine`] that contracts new graphs
//! the same way. The merge strategy is the driver of [`crate::shard`] with the
//! whole corpus as one shard, over the rounds of [`crate::round`].
//!
//! Arrows point one way: `mine` -> `shard` -> `round` -> `motif`.

use crate::control::Control;
use crate::error::Result;
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
        let shard = Shard::start(self.op_labels().to_vec(), graphs, params, ctl)?;
        let mut shards = [(shard, graphs.to_vec())];
        drive(&mut shards, params, ctl)?;
        let [(shard, _)] = shards;
        let (result, miner) = shard.finish(graphs);
        *self = miner;
        let (vocabulary, macros) = assemble(vec![result]);
        Ok(Mined { vocabulary, macros })
    }
}

/// What contracts new graphs like a mined corpus: the merge rules, or the
/// segmentation parameters of `nar`.
#[derive(Debug)]
pub enum Engine {
    Merge(Miner),
    Nar {
        op_labels: Vec<u64>,
        max_motif_nodes: usize,
    },
}

impl Engine {
    /// Extends the op labels for new op ids (existing ids keep their labels).
    pub fn extend_labels(&mut self, labels: &[u64]) {
        match self {
            Engine::Merge(m) => m.extend_labels(labels),
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
            Engine::Merge(m) => m.apply(graphs, ctl),
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
            let mined = miner.mine(graphs, params, ctl)?;
            Ok((mined, Engine::Merge(miner)))
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
