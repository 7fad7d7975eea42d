//! Path sums over a DAG given as edge arrays, for the predictor's architecture
//! surrogates (`archmotif.learn.surrogate.wiring`): for every node, the largest
//! sum of each weight column along a path from a source to it, and the number of
//! such paths. One pass in Kahn's order, O((N + E) · k), no Python loop.

use crate::csr::out_edges;
use crate::error::{Error, Result};

/// Path sums of the graph `src[i] -> dst[i]` on `num_nodes` nodes with `k`
/// weight columns (`weights`, row-major `[num_nodes, k]`): `(best, paths)`, where
/// `best[v * k + j]` is `v`'s own weight plus the largest `best` of its
/// predecessors (for non-negative weights: the largest sum of column `j` over
/// the nodes of a path from a source, a node without in-edges, to `v`, both ends
/// included), and `paths[v]` the number of paths from a source to `v` (a float:
/// it grows exponentially with depth, and is `inf` past `f64`'s range). A cycle
/// is an error.
pub fn path_sums(
    num_nodes: usize,
    src: &[i64],
    dst: &[i64],
    weights: &[f64],
    k: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    if weights.len() != num_nodes * k {
        return Err(Error::InvalidArgument(format!(
            "weights need {k} columns per node: {num_nodes} nodes, {} weights",
            weights.len()
        )));
    }
    let (offsets, targets) = out_edges(num_nodes, src, dst)?;
    let mut indegree = vec![0usize; num_nodes];
    for &w in &targets {
        indegree[w] += 1;
    }
    let mut best = weights.to_vec();
    let mut paths: Vec<f64> = indegree.iter().map(|&d| f64::from(d == 0)).collect();
    let mut ready: Vec<usize> = (0..num_nodes).filter(|&v| indegree[v] == 0).collect();
    let mut done = 0usize;
    while let Some(v) = ready.pop() {
        done += 1;
        for &w in &targets[offsets[v]..offsets[v + 1]] {
            for j in 0..k {
                let through = best[v * k + j] + weights[w * k + j];
                best[w * k + j] = best[w * k + j].max(through);
            }
            paths[w] += paths[v];
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.push(w);
            }
        }
    }
    if done != num_nodes {
        return Err(Error::InvalidArgument(format!(
            "the edges form a cycle ({} of {num_nodes} nodes are on or after one): \
             path sums need a DAG",
            num_nodes - done
        )));
    }
    Ok((best, paths))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_block() {
        // 0 -> 1 -> 2 -> 3, 0 -> 3, 3 -> 4; columns: ones, conv weight
        let (src, dst) = ([0, 1, 2, 0, 3], [1, 2, 3, 3, 4]);
        let w = [1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
        let (best, paths) = path_sums(5, &src, &dst, &w, 2).unwrap();
        assert_eq!(best[4 * 2], 5.0); // the long path has 5 nodes
        assert_eq!(best[4 * 2 + 1], 2.0); // the conv and the linear layer
        assert_eq!(best[3 * 2 + 1], 1.0);
        assert_eq!(paths, vec![1.0, 1.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn repeated_edges_count_as_separate_paths() {
        let (_, paths) = path_sums(2, &[0, 0], &[1, 1], &[0.0, 0.0], 1).unwrap();
        assert_eq!(paths, vec![1.0, 2.0]);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            path_sums(2, &[0, 1], &[1, 0], &[1.0, 1.0], 1),
            Err(Error::InvalidArgument(m)) if m.contains("cycle")
        ));
        assert!(matches!(
            path_sums(2, &[0], &[1], &[1.0], 1),
            Err(Error::InvalidArgument(m)) if m.contains("columns")
        ));
        assert!(matches!(
            path_sums(2, &[0], &[2], &[1.0, 1.0], 1),
            Err(Error::EdgeOutOfRange { .. })
        ));
    }
}
