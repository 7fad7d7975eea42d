//! Many graphs at once. A corpus is laid out as concatenated arrays with offsets
//! (the corpus file's layout), so a batch call borrows one buffer per field and
//! validates every graph in parallel.

use rayon::prelude::*;

use crate::error::Result;
use crate::graph::{Dag, Validated};
use crate::hash::murmur3_128;

/// Borrowed view of one graph's raw arrays.
#[derive(Debug, Clone, Copy)]
pub struct RawGraph<'a> {
    pub ops: &'a [i32],
    pub src: &'a [i64],
    pub dst: &'a [i64],
}

impl RawGraph<'_> {
    /// [`Dag::validate`] of these arrays.
    pub fn validate(&self, num_ops: usize) -> Result<Validated> {
        Dag::validate(num_ops, self.ops, self.src, self.dst)
    }
}

/// A 128-bit fingerprint of `graphs`' arrays (op ids, edge sources and
/// targets, graph by graph, in order): equal arrays give equal fingerprints,
/// and any change to them another one but by a negligible chance. A resumed
/// mining shard compares it with the one its state was written with, so the
/// graphs it validated then are rebuilt ([`Dag::rebuild`]), not validated again.
pub fn fingerprint(graphs: &[RawGraph<'_>]) -> u128 {
    const SEED: u64 = 0x616d_6772_6170_6873; // "amgraphs"
    let per_graph: Vec<u128> = graphs
        .par_iter()
        .map(|g| {
            let mut bytes = Vec::with_capacity(24 + 4 * g.ops.len() + 16 * g.src.len());
            for n in [g.ops.len(), g.src.len(), g.dst.len()] {
                bytes.extend_from_slice(&(n as u64).to_le_bytes());
            }
            bytes.extend(g.ops.iter().flat_map(|x| x.to_le_bytes()));
            bytes.extend(g.src.iter().flat_map(|x| x.to_le_bytes()));
            bytes.extend(g.dst.iter().flat_map(|x| x.to_le_bytes()));
            murmur3_128(&bytes, SEED)
        })
        .collect();
    let mut all = Vec::with_capacity(8 + 16 * per_graph.len());
    all.extend_from_slice(&(per_graph.len() as u64).to_le_bytes());
    all.extend(per_graph.iter().flat_map(|h| h.to_le_bytes()));
    murmur3_128(&all, SEED)
}

/// [`Dag::rebuild`] of every graph in parallel (arrays validated before, see
/// [`fingerprint`]), in input order.
pub fn rebuild_all(num_ops: usize, graphs: &[RawGraph<'_>]) -> Result<Vec<Dag>> {
    graphs
        .par_iter()
        .map(|g| Dag::rebuild(num_ops, g.ops, g.src, g.dst))
        .collect()
}

/// Validates every graph in parallel; results are in input order, so the first
/// error reported is the one of the lowest graph index whatever the thread count.
pub fn validate_all(num_ops: usize, graphs: &[RawGraph<'_>]) -> Vec<Result<Validated>> {
    graphs.par_iter().map(|g| g.validate(num_ops)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn reports_per_graph_in_input_order() {
        let good = RawGraph {
            ops: &[0, 0],
            src: &[0],
            dst: &[1],
        };
        let bad = RawGraph {
            ops: &[0, 0],
            src: &[0, 1],
            dst: &[1, 0],
        };
        let out = validate_all(1, &[good, bad, good]);
        assert!(out[0].is_ok() && out[2].is_ok());
        assert_eq!(
            out[1].as_ref().unwrap_err(),
            &Error::Cycle { cycle: vec![0, 1] }
        );
    }
}
