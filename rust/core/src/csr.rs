//! Out-edge lists of a graph given as edge arrays, checked: the one place the
//! array-level traversals ([`crate::normalize`], [`crate::paths`]) turn
//! `src[i] -> dst[i]` into adjacency.

use crate::error::{Error, Result};
use crate::graph::check_endpoints;

/// The out-edges of `num_nodes` nodes in CSR form, `(offsets, targets)`: node
/// `v`'s successors are `targets[offsets[v]..offsets[v + 1]]`, in edge order.
/// Edges may repeat. Unequal arrays, negative ids and ids past `num_nodes` are
/// errors naming the edge.
pub fn out_edges(num_nodes: usize, src: &[i64], dst: &[i64]) -> Result<(Vec<usize>, Vec<usize>)> {
    if src.len() != dst.len() {
        return Err(Error::EdgeShape {
            sources: src.len(),
            targets: dst.len(),
        });
    }
    let mut offsets = vec![0usize; num_nodes + 1];
    for (index, (&s, &d)) in src.iter().zip(dst).enumerate() {
        check_endpoints(index, s, d, num_nodes)?;
        offsets[s as usize + 1] += 1;
    }
    // offsets by a prefix sum, then one scatter
    for i in 0..num_nodes {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut targets = vec![0usize; src.len()];
    for (&s, &d) in src.iter().zip(dst) {
        targets[fill[s as usize]] = d as usize;
        fill[s as usize] += 1;
    }
    Ok((offsets, targets))
}
