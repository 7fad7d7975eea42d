//! Reachability for the normalisation pass (`archmotif.normalize`).
//!
//! The pass decides which operators compute on the model's data and which only
//! on shapes and constants (position ids, causal masks built from `arange`, the
//! scale of an attention read off a tensor's shape). That is forward
//! reachability from the graph's inputs, where some operators (`Shape`, `Size`)
//! read a tensor but hand on only its shape: they are reached, and stop there.
//! Everything else in the pass is array work done in numpy; this is the one step
//! that needs a graph traversal, so it lives here and runs in O(N + E) with no
//! Python loop, whatever the depth of the graph.

use crate::csr::out_edges;
use crate::error::{Error, Result};

/// Which nodes are reachable from `seeds` along the edges `src[i] -> dst[i]`,
/// without leaving a node marked in `stop` (a stop node is reached but passes
/// nothing on). `seeds` and `stop` have one entry per node. Edges need not be
/// sorted, may repeat, and the graph need not be acyclic (every node is visited
/// once).
pub fn reach_forward(
    num_nodes: usize,
    src: &[i64],
    dst: &[i64],
    seeds: &[bool],
    stop: &[bool],
) -> Result<Vec<bool>> {
    if seeds.len() != num_nodes || stop.len() != num_nodes {
        return Err(Error::InvalidArgument(format!(
            "seeds and stop need one entry per node: {num_nodes} nodes, {} seeds, {} stops",
            seeds.len(),
            stop.len()
        )));
    }
    let (offsets, targets) = out_edges(num_nodes, src, dst)?;
    let mut reached = seeds.to_vec();
    let mut stack: Vec<usize> = (0..num_nodes).filter(|&v| seeds[v]).collect();
    while let Some(v) = stack.pop() {
        if stop[v] {
            continue;
        }
        for &w in &targets[offsets[v]..offsets[v + 1]] {
            if !reached[w] {
                reached[w] = true;
                stack.push(w);
            }
        }
    }
    Ok(reached)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_pass_nothing_on() {
        // 0 -> 1 -> 2, 0 -> 3 (stop) -> 4, 5 -> 2 (5 not reached)
        let src = [0, 1, 0, 3, 5];
        let dst = [1, 2, 3, 4, 2];
        let seeds = [true, false, false, false, false, false];
        let stop = [false, false, false, true, false, false];
        let r = reach_forward(6, &src, &dst, &seeds, &stop).unwrap();
        assert_eq!(r, vec![true, true, true, true, false, false]);
    }

    #[test]
    fn a_stop_seed_is_reached_but_passes_nothing_on() {
        let r = reach_forward(2, &[0], &[1], &[true, false], &[true, false]).unwrap();
        assert_eq!(r, vec![true, false]);
    }

    #[test]
    fn bad_edges_are_errors() {
        let none = [false, false];
        assert!(matches!(
            reach_forward(2, &[0], &[2], &none, &none),
            Err(Error::EdgeOutOfRange { .. })
        ));
        assert!(matches!(
            reach_forward(2, &[-1], &[1], &none, &none),
            Err(Error::NegativeNode { .. })
        ));
        assert!(matches!(
            reach_forward(2, &[0, 1], &[1], &none, &none),
            Err(Error::EdgeShape { .. })
        ));
        assert!(matches!(
            reach_forward(3, &[0], &[1], &none, &none),
            Err(Error::InvalidArgument(_))
        ));
    }
}
