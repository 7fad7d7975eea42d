//! The operator-graph IR: a validated DAG with op labels, stored as forward and
//! reverse CSR adjacency over `u32` node ids.
//!
//! Invariants of a [`Dag`] (established by [`Dag::validate`], relied on everywhere):
//! - every op id is in `0..num_ops`;
//! - every edge endpoint is in `0..num_nodes`;
//! - there are no self loops, no duplicate edges and no cycles;
//! - each adjacency row is sorted ascending, so iteration order is deterministic.
//!
//! Duplicate edges in the input are dropped (first occurrence kept): an operator
//! that reads the same tensor twice (`x * x`) depends on it once.

use crate::error::{Error, Result};

/// Node id inside a [`Dag`].
pub type NodeId = u32;

/// Largest supported node count (ids must fit in `u32` with one value spare).
pub const MAX_NODES: usize = (u32::MAX - 1) as usize;

/// A validated, deduplicated operator DAG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    ops: Vec<u32>,
    out_offsets: Vec<usize>,
    out_targets: Vec<NodeId>,
    in_offsets: Vec<usize>,
    in_sources: Vec<NodeId>,
}

/// The outcome of validating raw arrays: the graph and which input edges survived.
#[derive(Debug, Clone)]
pub struct Validated {
    pub dag: Dag,
    /// Indices (ascending) of the input edges kept; `None` when all were kept.
    pub kept_edges: Option<Vec<usize>>,
}

/// Checks op ids against `num_ops`.
fn check_ops(ops: &[i32], num_ops: usize) -> Result<Vec<u32>> {
    ops.iter()
        .enumerate()
        .map(|(node, &op)| {
            if op < 0 {
                Err(Error::NegativeOp {
                    node,
                    op: op as i64,
                })
            } else if op as usize >= num_ops {
                Err(Error::OpOutOfRange {
                    node,
                    op: op as i64,
                    num_ops,
                })
            } else {
                Ok(op as u32)
            }
        })
        .collect()
}

/// Checks that edge `index`, `s -> d`, joins two of `num_nodes` nodes.
pub(crate) fn check_endpoints(index: usize, s: i64, d: i64, num_nodes: usize) -> Result<()> {
    if s < 0 || d < 0 {
        return Err(Error::NegativeNode {
            index,
            src: s,
            dst: d,
        });
    }
    if s as u64 >= num_nodes as u64 || d as u64 >= num_nodes as u64 {
        return Err(Error::EdgeOutOfRange {
            index,
            src: s,
            dst: d,
            num_nodes,
        });
    }
    Ok(())
}

/// Checks edge endpoints: equal lengths, every endpoint a node, no self-loop.
fn check_edges(src: &[i64], dst: &[i64], num_nodes: usize) -> Result<()> {
    if src.len() != dst.len() {
        return Err(Error::EdgeShape {
            sources: src.len(),
            targets: dst.len(),
        });
    }
    for (index, (&s, &d)) in src.iter().zip(dst).enumerate() {
        check_endpoints(index, s, d, num_nodes)?;
        if s == d {
            return Err(Error::SelfLoop {
                index,
                node: s as usize,
            });
        }
    }
    Ok(())
}

/// CSR row starts for items in rows `rows` (each below `num_nodes`): `num_nodes
/// + 1` offsets, row `r` spanning `offsets[r]..offsets[r + 1]`.
pub(crate) fn row_offsets(num_nodes: usize, rows: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut offsets = vec![0usize; num_nodes + 1];
    for r in rows {
        offsets[r + 1] += 1;
    }
    for i in 0..num_nodes {
        offsets[i + 1] += offsets[i];
    }
    offsets
}

/// The successor lists of checked edges: counted by source, filled, each row
/// sorted and its repeats dropped, compacting the rows leftwards. Returns the
/// offsets, the targets and whether a repeat was dropped.
fn successors(num_nodes: usize, src: &[i64], dst: &[i64]) -> (Vec<usize>, Vec<NodeId>, bool) {
    let mut offsets = row_offsets(num_nodes, src.iter().map(|&s| s as usize));
    // each row filled from its start, advancing the start to the row's end,
    // then the starts shifted back (no second array of n offsets)
    let mut targets = vec![0 as NodeId; src.len()];
    for (&s, &d) in src.iter().zip(dst) {
        targets[offsets[s as usize]] = d as NodeId;
        offsets[s as usize] += 1;
    }
    offsets.copy_within(0..num_nodes, 1);
    offsets[0] = 0;
    let mut kept = 0;
    let mut start = 0;
    for v in 0..num_nodes {
        let end = offsets[v + 1];
        targets[start..end].sort_unstable();
        let row_start = kept;
        for i in start..end {
            if kept == row_start || targets[kept - 1] != targets[i] {
                targets[kept] = targets[i];
                kept += 1;
            }
        }
        start = end;
        offsets[v + 1] = kept;
    }
    let dropped = kept < targets.len();
    targets.truncate(kept);
    (offsets, targets, dropped)
}

/// The indices (ascending) of the first occurrence of every distinct edge:
/// each source's `(target, edge index)` pairs sorted, the first of each run of
/// one target kept.
fn first_edges(num_nodes: usize, src: &[i64], dst: &[i64]) -> Vec<usize> {
    let offsets = row_offsets(num_nodes, src.iter().map(|&s| s as usize));
    let mut fill = offsets.clone();
    let mut slots = vec![(0 as NodeId, 0u32); src.len()];
    for (i, (&s, &d)) in src.iter().zip(dst).enumerate() {
        slots[fill[s as usize]] = (d as NodeId, i as u32);
        fill[s as usize] += 1;
    }
    let mut keep = vec![false; src.len()];
    for w in offsets.windows(2) {
        let row = &mut slots[w[0]..w[1]];
        row.sort_unstable();
        for (k, &(col, index)) in row.iter().enumerate() {
            keep[index as usize] = k == 0 || row[k - 1].0 != col;
        }
    }
    (0..src.len()).filter(|&i| keep[i]).collect()
}

/// The predecessor lists of a graph given by its sorted successor lists:
/// counted, then filled visiting sources in ascending order, so every row
/// comes out sorted.
fn reverse(out_offsets: &[usize], out_targets: &[NodeId]) -> (Vec<usize>, Vec<NodeId>) {
    let n = out_offsets.len() - 1;
    let mut in_offsets = row_offsets(n, out_targets.iter().map(|&d| d as usize));
    let mut sources = vec![0 as NodeId; out_targets.len()];
    for v in 0..n {
        for &d in &out_targets[out_offsets[v]..out_offsets[v + 1]] {
            sources[in_offsets[d as usize]] = v as NodeId;
            in_offsets[d as usize] += 1;
        }
    }
    in_offsets.copy_within(0..n, 1);
    in_offsets[0] = 0;
    (in_offsets, sources)
}

impl Dag {
    /// Validates raw arrays (ops, edge sources, edge targets) and builds the DAG.
    ///
    /// Errors name the problem: the node of a bad op id, the index and endpoints
    /// of a bad edge, the nodes of one cycle.
    pub fn validate(num_ops: usize, ops: &[i32], src: &[i64], dst: &[i64]) -> Result<Validated> {
        let num_nodes = ops.len();
        if num_nodes > MAX_NODES {
            return Err(Error::TooManyNodes {
                num_nodes,
                max: MAX_NODES,
            });
        }
        let labels = check_ops(ops, num_ops)?;
        check_edges(src, dst, num_nodes)?;
        if src.len() > u32::MAX as usize {
            return Err(Error::TooManyNodes {
                num_nodes: src.len(),
                max: u32::MAX as usize,
            });
        }
        // Repeated edges are rare: which input edges were kept is worked out
        // only when one was dropped.
        let (out_offsets, out_targets, dropped) = successors(num_nodes, src, dst);
        let kept_edges = dropped.then(|| first_edges(num_nodes, src, dst));
        let (in_offsets, in_sources) = reverse(&out_offsets, &out_targets);
        let dag = Dag {
            ops: labels,
            out_offsets,
            out_targets,
            in_offsets,
            in_sources,
        };
        dag.check_acyclic()?;
        Ok(Validated { dag, kept_edges })
    }

    /// The DAG [`Dag::validate`] made of these same arrays before (a caller that
    /// holds their fingerprint from then, such as a resumed mining shard, knows
    /// they are), built without searching for a cycle and without the
    /// bookkeeping of which input edges were kept: one sorted forward CSR,
    /// duplicates dropped in place, the reverse CSR counted from it. Ops and edge
    /// endpoints are still range-checked, so arrays never validated cannot make it
    /// index out of bounds; a cycle in them would go unnoticed.
    pub fn rebuild(num_ops: usize, ops: &[i32], src: &[i64], dst: &[i64]) -> Result<Dag> {
        let n = ops.len();
        if n > MAX_NODES {
            return Err(Error::TooManyNodes {
                num_nodes: n,
                max: MAX_NODES,
            });
        }
        let labels = check_ops(ops, num_ops)?;
        check_edges(src, dst, n)?;
        let (out_offsets, targets, _) = successors(n, src, dst);
        let (in_offsets, sources) = reverse(&out_offsets, &targets);
        Ok(Dag {
            ops: labels,
            out_offsets,
            out_targets: targets,
            in_offsets,
            in_sources: sources,
        })
    }

    pub fn num_nodes(&self) -> usize {
        self.ops.len()
    }

    pub fn num_edges(&self) -> usize {
        self.out_targets.len()
    }

    pub fn ops(&self) -> &[u32] {
        &self.ops
    }

    pub fn op(&self, n: NodeId) -> u32 {
        self.ops[n as usize]
    }

    /// Successors of `n`, ascending.
    pub fn successors(&self, n: NodeId) -> &[NodeId] {
        &self.out_targets[self.out_offsets[n as usize]..self.out_offsets[n as usize + 1]]
    }

    /// Predecessors of `n`, ascending.
    pub fn predecessors(&self, n: NodeId) -> &[NodeId] {
        &self.in_sources[self.in_offsets[n as usize]..self.in_offsets[n as usize + 1]]
    }

    /// Edges in (source, target) order, sorted.
    pub fn edges(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        (0..self.num_nodes() as NodeId)
            .flat_map(move |s| self.successors(s).iter().map(move |&d| (s, d)))
    }

    /// A topological order (Kahn's algorithm, smallest ready id first among
    /// equals in FIFO order), or the nodes of one cycle.
    pub fn topological_order(&self) -> std::result::Result<Vec<NodeId>, Vec<usize>> {
        let n = self.num_nodes();
        let mut indeg: Vec<u32> = (0..n)
            .map(|v| (self.in_offsets[v + 1] - self.in_offsets[v]) as u32)
            .collect();
        let mut order: Vec<NodeId> = Vec::with_capacity(n);
        order.extend((0..n as NodeId).filter(|&v| indeg[v as usize] == 0));
        let mut head = 0;
        while head < order.len() {
            let v = order[head];
            head += 1;
            for &w in self.successors(v) {
                indeg[w as usize] -= 1;
                if indeg[w as usize] == 0 {
                    order.push(w);
                }
            }
        }
        if order.len() == n {
            return Ok(order);
        }
        // Every node left over has a left-over predecessor: walking predecessors
        // from any of them must revisit a node, and the walk between the two
        // visits is a cycle.
        let start = (0..n).find(|&v| indeg[v] > 0).expect("a node is left");
        let mut seen_at = vec![usize::MAX; n];
        let mut walk = Vec::new();
        let mut v = start;
        loop {
            if seen_at[v] != usize::MAX {
                let mut cycle: Vec<usize> = walk[seen_at[v]..].to_vec();
                cycle.reverse(); // the walk follows predecessors; report edge direction
                let pos = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|&(_, &x)| x)
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                cycle.rotate_left(pos);
                return Err(cycle);
            }
            seen_at[v] = walk.len();
            walk.push(v);
            v = *self
                .predecessors(v as NodeId)
                .iter()
                .find(|&&p| indeg[p as usize] > 0)
                .expect("a left-over node has a left-over predecessor") as usize;
        }
    }

    fn check_acyclic(&self) -> Result<()> {
        self.topological_order()
            .map(|_| ())
            .map_err(|cycle| Error::Cycle { cycle })
    }

    /// The graph as a petgraph `DiGraph` (node weight = op id), for interop and
    /// as a test oracle.
    pub fn to_petgraph(&self) -> petgraph::graph::DiGraph<u32, ()> {
        let mut g = petgraph::graph::DiGraph::with_capacity(self.num_nodes(), self.num_edges());
        for &op in &self.ops {
            g.add_node(op);
        }
        for (s, d) in self.edges() {
            g.add_edge(s.into(), d.into(), ());
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(num_ops: usize, ops: &[i32], edges: &[(i64, i64)]) -> Result<Validated> {
        let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
        Dag::validate(num_ops, ops, &s, &d)
    }

    #[test]
    fn accepts_a_diamond_and_sorts_adjacency() {
        let v = dag(2, &[0, 1, 1, 0], &[(0, 2), (0, 1), (1, 3), (2, 3)]).unwrap();
        assert!(v.kept_edges.is_none());
        assert_eq!(v.dag.successors(0), &[1, 2]);
        assert_eq!(v.dag.predecessors(3), &[1, 2]);
        assert_eq!(v.dag.num_edges(), 4);
    }

    #[test]
    fn drops_duplicate_edges_keeping_the_first() {
        let v = dag(1, &[0, 0, 0], &[(0, 1), (1, 2), (0, 1), (1, 2), (0, 2)]).unwrap();
        assert_eq!(v.kept_edges, Some(vec![0, 1, 4]));
        assert_eq!(v.dag.num_edges(), 3);
    }

    proptest::proptest! {
        /// Validation against its definition, on edges with repeats in any
        /// order: the first of each repeated edge is kept, the adjacency lists
        /// are the distinct neighbours in ascending order, and the graph equals
        /// the one `rebuild` makes of the same arrays.
        #[test]
        fn keeps_first_edges_and_sorted_distinct_neighbours(
            n in 2usize..24,
            raw in proptest::collection::vec((0usize..24, 0usize..24), 0..80),
        ) {
            let edges: Vec<(i64, i64)> = raw
                .iter()
                .map(|&(a, b)| (a % n, b % n))
                .filter(|&(a, b)| a != b)
                .map(|(a, b)| (a.min(b) as i64, a.max(b) as i64))
                .collect();
            let v = dag(1, &vec![0; n], &edges).unwrap();
            let mut seen = std::collections::BTreeSet::new();
            let first: Vec<usize> = (0..edges.len()).filter(|&i| seen.insert(edges[i])).collect();
            let expect_kept = (first.len() < edges.len()).then_some(first);
            proptest::prop_assert_eq!(&v.kept_edges, &expect_kept);
            for x in 0..n as i64 {
                let succ: Vec<NodeId> = seen.iter().filter(|e| e.0 == x).map(|e| e.1 as NodeId).collect();
                let pred: Vec<NodeId> = seen.iter().filter(|e| e.1 == x).map(|e| e.0 as NodeId).collect();
                let mut pred_sorted = pred.clone();
                pred_sorted.sort_unstable();
                proptest::prop_assert_eq!(v.dag.successors(x as NodeId), &succ[..]);
                proptest::prop_assert_eq!(v.dag.predecessors(x as NodeId), &pred_sorted[..]);
            }
            let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
            proptest::prop_assert_eq!(&Dag::rebuild(1, &vec![0; n], &s, &d).unwrap(), &v.dag);
        }
    }

    #[test]
    fn names_the_nodes_of_a_cycle() {
        let e = dag(1, &[0; 5], &[(0, 1), (1, 2), (2, 3), (3, 1), (3, 4)]).unwrap_err();
        assert_eq!(
            e,
            Error::Cycle {
                cycle: vec![1, 2, 3]
            }
        );
        assert_eq!(
            e.to_string(),
            "the graph has a cycle through nodes 1 -> 2 -> 3 -> 1"
        );
    }

    #[test]
    fn names_a_bad_edge() {
        let e = dag(1, &[0; 5], &[(0, 1), (2, 10)]).unwrap_err();
        assert_eq!(
            e,
            Error::EdgeOutOfRange {
                index: 1,
                src: 2,
                dst: 10,
                num_nodes: 5
            }
        );
        assert!(matches!(
            dag(1, &[0; 2], &[(-1, 1)]),
            Err(Error::NegativeNode { .. })
        ));
        assert!(matches!(
            dag(1, &[0; 2], &[(1, 1)]),
            Err(Error::SelfLoop { index: 0, node: 1 })
        ));
    }

    #[test]
    fn names_a_bad_op() {
        assert_eq!(
            dag(2, &[0, 2], &[]).unwrap_err(),
            Error::OpOutOfRange {
                node: 1,
                op: 2,
                num_ops: 2
            }
        );
        assert_eq!(
            dag(2, &[-3], &[]).unwrap_err(),
            Error::NegativeOp { node: 0, op: -3 }
        );
    }

    #[test]
    fn rebuilding_validated_arrays_gives_the_same_dag() {
        type Case<'a> = (usize, &'a [i32], &'a [(i64, i64)]);
        let cases: [Case; 3] = [
            (2, &[0, 1, 1, 0], &[(0, 2), (0, 1), (1, 3), (2, 3)]),
            (1, &[0, 0, 0], &[(0, 1), (1, 2), (0, 1), (1, 2), (0, 2)]),
            (
                3,
                &[2, 0, 1, 0, 2],
                &[(4, 3), (0, 4), (1, 4), (0, 1), (4, 3), (2, 3)],
            ),
        ];
        for (num_ops, ops, edges) in cases {
            let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
            let valid = Dag::validate(num_ops, ops, &s, &d).unwrap().dag;
            assert_eq!(Dag::rebuild(num_ops, ops, &s, &d).unwrap(), valid);
        }
        // ranges are still checked: arrays never validated cannot index out of bounds
        assert!(matches!(
            Dag::rebuild(1, &[0, 0], &[0], &[5]),
            Err(Error::EdgeOutOfRange { .. })
        ));
        assert!(matches!(
            Dag::rebuild(1, &[3], &[], &[]),
            Err(Error::OpOutOfRange { .. })
        ));
    }

    #[test]
    fn empty_graph_is_valid() {
        let v = dag(0, &[], &[]).unwrap();
        assert_eq!(v.dag.num_nodes(), 0);
        assert_eq!(v.dag.topological_order().unwrap(), Vec::<NodeId>::new());
    }

    #[test]
    fn petgraph_view_agrees() {
        let v = dag(2, &[0, 1, 1], &[(0, 1), (0, 2)]).unwrap();
        let g = v.dag.to_petgraph();
        assert_eq!(g.node_count(), 3);
        assert_eq!(g.edge_count(), 2);
        assert!(!petgraph::algo::is_cyclic_directed(&g));
    }
}
