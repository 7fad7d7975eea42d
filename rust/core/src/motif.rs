//! The motif types every mining mode shares: parameters, a motif's canonical
//! [`Form`], vocabulary entries ([`Motif`]), contracted graphs ([`Macro`]), the
//! exact key of a candidate merge ([`Key`]) and the [`Strategy`] names.
//!
//! Nothing here mines; `round` (the merge round), `shard` (the round driver),
//! `nar` and `mine` (the entry point) all build on these types, never the
//! other way round.

use std::str::FromStr;

use crate::canon::{canonical_form_cancellable, Canon};
use crate::control::Control;
use crate::error::{Error, Result};
use crate::quotient::Quotient;

/// Mining parameters (see `archmotif.mine`).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub min_count: u64,
    pub min_support: u64,
    pub max_motif_nodes: usize,
    pub max_levels: usize,
}

impl Params {
    /// Rejects parameters no mining run accepts.
    pub fn check(&self) -> Result<()> {
        if self.max_motif_nodes < 2 || self.max_motif_nodes > MAX_MOTIF_NODES {
            return Err(Error::InvalidArgument(format!(
                "max_motif_nodes must be in 2..={MAX_MOTIF_NODES}, got {}",
                self.max_motif_nodes
            )));
        }
        if self.min_count < 1 || self.min_support < 1 {
            return Err(Error::InvalidArgument(
                "min_count and min_support must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Largest supported `max_motif_nodes`.
pub const MAX_MOTIF_NODES: usize = 4096;

/// The shape of a motif: ops in canonical order and edges between positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub ops: Vec<u32>,
    pub edges: Vec<(u32, u32)>,
}

impl Form {
    /// The canonical form of the graph with `ops` (op ids, labelled through
    /// `op_labels`) and `edges` between their indices, with its labelling.
    /// Fails with [`crate::error::Error::Interrupted`] soon after `ctl` is cancelled.
    pub fn canonical(
        ops: &[u32],
        op_labels: &[u64],
        edges: &[(u32, u32)],
        ctl: &Control,
    ) -> Result<(Canon, Form)> {
        let labels: Vec<u64> = ops.iter().map(|&o| op_labels[o as usize]).collect();
        let c = canonical_form_cancellable(&labels, edges, ctl)?;
        let mut inv = vec![0u32; ops.len()];
        for (pos, &local) in c.order.iter().enumerate() {
            inv[local as usize] = pos as u32;
        }
        let mut form_edges: Vec<(u32, u32)> = edges
            .iter()
            .map(|&(s, d)| (inv[s as usize], inv[d as usize]))
            .collect();
        form_edges.sort_unstable();
        let form = Form {
            ops: c.order.iter().map(|&l| ops[l as usize]).collect(),
            edges: form_edges,
        };
        Ok((c, form))
    }
}

/// One vocabulary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Motif {
    pub id: u128,
    pub form: Form,
    pub level: u32,
    /// Ids of the two motifs it was first merged from (empty at level 0).
    pub children: Vec<u128>,
    /// Instances: nodes for level 0, merges that created it above.
    pub count: u64,
    /// Graphs with at least one instance.
    pub support: u64,
}

/// A graph contracted into motif instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// Motif id of each macro node; macro nodes are ordered by their smallest node.
    pub motif_ids: Vec<u128>,
    pub node_to_macro: Vec<u32>,
    pub quotient: Quotient,
}

/// A candidate merge, exactly: the motifs of the two fragments `a -> b` and
/// the edges between them in canonical positions of each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub a: u128,
    pub b: u128,
    pub cross: Vec<(u32, u32)>,
}

/// The result of mining: the vocabulary and one macro graph per input graph.
#[derive(Debug, Clone)]
pub struct Mined {
    /// Sorted by (level, id).
    pub vocabulary: Vec<Motif>,
    pub macros: Vec<Macro>,
}

/// How `mine` finds motifs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Hierarchical corpus-level merging of adjacent fragments (the default).
    Merge,
    /// The paper's sequence segmentation, the faithful baseline.
    Nar,
}

impl FromStr for Strategy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Strategy> {
        match s {
            "merge" => Ok(Strategy::Merge),
            "nar" => Ok(Strategy::Nar),
            _ => Err(Error::InvalidArgument(format!(
                "strategy must be 'merge' or 'nar', got {s:?}"
            ))),
        }
    }
}
