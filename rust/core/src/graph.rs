//! The operator-graph IR: a validated DAG with op labels, stored as forward and
//! reverse CSR adjacency over `u32` node ids.
//!
//! Invariants of a [`Dag`] (established by [`Dag::validate`], relied on everywhere):
//! - every op id is in `0..num_ops`;
//! - every edge endpoint is in `0..num_nodes`;
//! - there are no self loops, no duplicate edges and no cycles;
//! - each adjacency row is sorted ascending, so iteration order is deterministic;
//! - each node's depth (longest path from a source) is recorded, by the pass
//!   that checks for cycles.
//!
//! Duplicate edges in the input are dropped (first occurrence kept): an operator
//! that reads the same tensor twice (`x * x`) depends on it once.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Node id inside a [`Dag`].
pub type NodeId = u32;

/// Largest supported node count (ids must fit in `u32` with one value spare).
pub const MAX_NODES: usize = (u32::MAX - 1) as usize;

/// A validated, deduplicated operator DAG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    ops: Vec<u32>,
    out_offsets: Vec<u32>,
    out_targets: Vec<NodeId>,
    in_offsets: Vec<u32>,
    in_sources: Vec<NodeId>,
    /// Longest path from a source to each node, found by the pass that
    /// checks acyclicity (the canonical order starts from it).
    depth: Vec<u32>,
}

/// The outcome of validating raw arrays: the graph and which input edges survived.
#[derive(Debug, Clone)]
pub struct Validated {
    pub dag: Dag,
    /// Indices (ascending) of the input edges kept; `None` when all were kept.
    pub kept_edges: Option<Vec<usize>>,
}

/// Items (nodes or edges) from which validation splits a pass over threads.
const PARALLEL_ITEMS: usize = 1 << 16;

/// The first index below `len` for which `bad` holds, scanning in parallel
/// when there are many.
fn first_bad(len: usize, bad: impl Fn(usize) -> bool + Sync + Send) -> Option<usize> {
    // plain loops over blocks: a parallel search item by item costs more than it saves
    let block =
        |b: usize| (b * PARALLEL_ITEMS..len.min((b + 1) * PARALLEL_ITEMS)).find(|&i| bad(i));
    let blocks = len.div_ceil(PARALLEL_ITEMS);
    if blocks > 1 {
        let found: Vec<Option<usize>> = (0..blocks).into_par_iter().map(block).collect();
        found.into_iter().flatten().next()
    } else {
        block(0)
    }
}

/// Checks op ids against `num_ops`.
fn check_ops(ops: &[i32], num_ops: usize) -> Result<Vec<u32>> {
    if let Some(node) = first_bad(ops.len(), |i| ops[i] < 0 || ops[i] as usize >= num_ops) {
        let op = ops[node] as i64;
        return Err(if op < 0 {
            Error::NegativeOp { node, op }
        } else {
            Error::OpOutOfRange { node, op, num_ops }
        });
    }
    Ok(if ops.len() >= PARALLEL_ITEMS {
        ops.par_iter().map(|&op| op as u32).collect()
    } else {
        ops.iter().map(|&op| op as u32).collect()
    })
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

/// Checks edge endpoints: equal lengths, every endpoint a node, no self-loop;
/// an error names the first bad edge.
fn check_edges(src: &[i64], dst: &[i64], num_nodes: usize) -> Result<()> {
    if src.len() != dst.len() {
        return Err(Error::EdgeShape {
            sources: src.len(),
            targets: dst.len(),
        });
    }
    let n = num_nodes as u64;
    // a negative endpoint is a huge u64: one comparison catches both
    let bad = |i: usize| {
        let (s, d) = (src[i] as u64, dst[i] as u64);
        s >= n || d >= n || s == d
    };
    let Some(index) = first_bad(src.len(), bad) else {
        return Ok(());
    };
    let (s, d) = (src[index], dst[index]);
    check_endpoints(index, s, d, num_nodes)?;
    Err(Error::SelfLoop {
        index,
        node: s as usize,
    })
}

/// True when every edge runs from a lower to a higher node id, as a traced
/// graph numbered in execution order does: the numbering is then a
/// topological order and the graph has no cycle.
fn ascending(src: &[i64], dst: &[i64]) -> bool {
    first_bad(src.len(), |i| src[i] >= dst[i]).is_none()
}

/// Parts a pass over `len` items is split into: one per thread (at most 16)
/// on a big input, else one.
fn parts_for(len: usize) -> usize {
    if len >= PARALLEL_ITEMS {
        rayon::current_num_threads().clamp(1, 16)
    } else {
        1
    }
}

/// `0..num_rows` cut into `parts` consecutive ranges, by their bounds.
fn row_bounds(num_rows: usize, parts: usize) -> Vec<usize> {
    (0..=parts).map(|p| num_rows * p / parts).collect()
}

/// `values`, the rows of `offsets`, cut at the row `bounds` into runs of whole
/// rows: each run's rows and its span of `values`.
fn row_runs<'a>(
    offsets: &[u32],
    values: &'a mut [u32],
    bounds: &[usize],
) -> Vec<(std::ops::Range<usize>, &'a mut [u32])> {
    let mut runs = Vec::with_capacity(bounds.len().saturating_sub(1));
    let mut rest = values;
    for w in bounds.windows(2) {
        let span = (offsets[w[1]] - offsets[w[0]]) as usize;
        let (head, tail) = rest.split_at_mut(span);
        runs.push((w[0]..w[1], head));
        rest = tail;
    }
    runs
}

/// Compressed rows of `(row, value)` items: `(offsets, values)`, row `r`'s
/// values at `values[offsets[r]..offsets[r + 1]]` in the order `items()`
/// yields them (stable). `items` is called once per pass and per part: on a
/// big input each thread takes a range of rows, reads every item and counts
/// and places only those of its rows, so the scattered writes split between
/// threads while the reads stay sequential. Rows are below `num_rows`, and
/// there are `len` items (fewer than `u32::MAX`).
pub(crate) fn compressed_rows<I>(
    num_rows: usize,
    len: usize,
    items: impl Fn() -> I + Sync,
) -> (Vec<u32>, Vec<u32>)
where
    I: Iterator<Item = (u32, u32)>,
{
    let parts = parts_for(len);
    let bounds = row_bounds(num_rows, parts);
    // offsets[r + 1] counts row r; each part counts its rows in its own slice
    let mut offsets = vec![0u32; num_rows + 1];
    let mut slices = Vec::with_capacity(parts);
    let mut rest = &mut offsets[1..];
    for p in 0..parts {
        let (head, tail) = rest.split_at_mut(bounds[p + 1] - bounds[p]);
        slices.push((bounds[p], head));
        rest = tail;
    }
    let count = |(lo, counts): &mut (usize, &mut [u32])| {
        let hi = *lo + counts.len();
        for (r, _) in items() {
            let r = r as usize;
            if (*lo..hi).contains(&r) {
                counts[r - *lo] += 1;
            }
        }
    };
    if parts > 1 {
        slices.par_iter_mut().for_each(count);
    } else {
        slices.iter_mut().for_each(count);
    }
    drop(slices);
    for r in 0..num_rows {
        offsets[r + 1] += offsets[r];
    }
    // each part fills its rows' span of `values` from a cursor per row
    let mut values = vec![0u32; len];
    let mut work = row_runs(&offsets, &mut values, &bounds);
    let fill = |(rows, vals): &mut (std::ops::Range<usize>, &mut [u32])| {
        let base = offsets[rows.start];
        let mut cur: Vec<u32> = offsets[rows.clone()].iter().map(|&o| o - base).collect();
        for (r, x) in items() {
            let r = r as usize;
            if rows.contains(&r) {
                let at = &mut cur[r - rows.start];
                vals[*at as usize] = x;
                *at += 1;
            }
        }
    };
    if parts > 1 {
        work.par_iter_mut().for_each(fill);
    } else {
        work.iter_mut().for_each(fill);
    }
    drop(work);
    (offsets, values)
}

/// The successor lists of checked edges: grouped by source, each row sorted
/// and its repeats dropped (rows in parallel on a big graph; the rows are
/// compacted leftwards only when a repeat was found). Returns the offsets,
/// the targets and whether a repeat was dropped.
fn successors(num_nodes: usize, src: &[i64], dst: &[i64]) -> (Vec<u32>, Vec<NodeId>, bool) {
    let (mut offsets, mut targets) = compressed_rows(num_nodes, src.len(), || {
        src.iter().zip(dst).map(|(&s, &d)| (s as u32, d as NodeId))
    });
    // sort each row; true where it repeats a target
    let sort_rows = |(rows, vals): (std::ops::Range<usize>, &mut [NodeId])| {
        let base = offsets[rows.start] as usize;
        let mut repeats = false;
        for r in rows {
            let row = &mut vals[offsets[r] as usize - base..offsets[r + 1] as usize - base];
            if !row.windows(2).all(|w| w[0] < w[1]) {
                row.sort_unstable();
                repeats |= row.windows(2).any(|w| w[0] == w[1]);
            }
        }
        repeats
    };
    // runs of rows, a few per thread (rows differ in length)
    let bounds = row_bounds(num_nodes, parts_for(src.len()) * 4);
    let runs = row_runs(&offsets, &mut targets, &bounds);
    let repeats = if runs.len() > 4 {
        runs.into_par_iter()
            .map(sort_rows)
            .reduce(|| false, |a, b| a || b)
    } else {
        // every run is sorted: no short-circuit
        let mut repeats = false;
        for run in runs {
            repeats |= sort_rows(run);
        }
        repeats
    };
    if !repeats {
        return (offsets, targets, false);
    }
    let mut kept = 0;
    let mut start = 0;
    for v in 0..num_nodes {
        let end = offsets[v + 1] as usize;
        let row_start = kept;
        for i in start..end {
            if kept == row_start || targets[kept - 1] != targets[i] {
                targets[kept] = targets[i];
                kept += 1;
            }
        }
        start = end;
        offsets[v + 1] = kept as u32;
    }
    targets.truncate(kept);
    (offsets, targets, true)
}

/// The indices (ascending) of the first occurrence of every distinct edge:
/// each source's edge indices (ascending) stably sorted by target, the first
/// of each run of one target kept.
fn first_edges(num_nodes: usize, src: &[i64], dst: &[i64]) -> Vec<usize> {
    let (offsets, mut slots) = compressed_rows(num_nodes, src.len(), || {
        src.iter().enumerate().map(|(i, &s)| (s as u32, i as u32))
    });
    let mut keep = vec![false; src.len()];
    for w in offsets.windows(2) {
        let row = &mut slots[w[0] as usize..w[1] as usize];
        row.sort_by_key(|&i| dst[i as usize]);
        for (k, &i) in row.iter().enumerate() {
            keep[i as usize] = k == 0 || dst[row[k - 1] as usize] != dst[i as usize];
        }
    }
    (0..src.len()).filter(|&i| keep[i]).collect()
}

/// The predecessor lists of a graph given by its sorted successor lists:
/// items visited by ascending source, so every row comes out sorted.
fn reverse(out_offsets: &[u32], out_targets: &[NodeId]) -> (Vec<u32>, Vec<NodeId>) {
    let n = out_offsets.len() - 1;
    compressed_rows(n, out_targets.len(), || {
        (0..n).flat_map(move |v| {
            out_targets[out_offsets[v] as usize..out_offsets[v + 1] as usize]
                .iter()
                .map(move |&d| (d, v as NodeId))
        })
    })
}

/// [`successors`] and the predecessor lists of the same edges. On a big graph
/// the two are built side by side from the input, each sorted and deduplicated
/// on its own (the same distinct edges either way); on a small one the
/// predecessors are read off the successors ([`reverse`]), which needs no sort.
#[allow(clippy::type_complexity)]
fn both_directions(
    num_nodes: usize,
    src: &[i64],
    dst: &[i64],
) -> ((Vec<u32>, Vec<NodeId>, bool), (Vec<u32>, Vec<NodeId>)) {
    if src.len() >= PARALLEL_ITEMS && rayon::current_num_threads() > 1 {
        let (out, (in_offsets, in_sources, _)) = rayon::join(
            || successors(num_nodes, src, dst),
            || successors(num_nodes, dst, src),
        );
        (out, (in_offsets, in_sources))
    } else {
        let out = successors(num_nodes, src, dst);
        let pred = reverse(&out.0, &out.1);
        (out, pred)
    }
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
        let ((out_offsets, out_targets, dropped), (in_offsets, in_sources)) =
            both_directions(num_nodes, src, dst);
        let kept_edges = dropped.then(|| first_edges(num_nodes, src, dst));
        let mut dag = Dag {
            ops: labels,
            out_offsets,
            out_targets,
            in_offsets,
            in_sources,
            depth: Vec::new(),
        };
        dag.depth = if ascending(src, dst) {
            dag.depths_in_id_order()
        } else {
            dag.kahn().map_err(|cycle| Error::Cycle { cycle })?.1
        };
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
        let ((out_offsets, targets, _), (in_offsets, sources)) = both_directions(n, src, dst);
        let mut dag = Dag {
            ops: labels,
            out_offsets,
            out_targets: targets,
            in_offsets,
            in_sources: sources,
            depth: Vec::new(),
        };
        // validated before, so acyclic; arrays that were not cannot loop here
        // (Kahn's algorithm stops), only leave depths of a cycle at 0
        dag.depth = if ascending(src, dst) {
            dag.depths_in_id_order()
        } else {
            dag.kahn().map_or_else(|_| vec![0; n], |(_, depth)| depth)
        };
        Ok(dag)
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
        &self.out_targets
            [self.out_offsets[n as usize] as usize..self.out_offsets[n as usize + 1] as usize]
    }

    /// Predecessors of `n`, ascending.
    pub fn predecessors(&self, n: NodeId) -> &[NodeId] {
        &self.in_sources
            [self.in_offsets[n as usize] as usize..self.in_offsets[n as usize + 1] as usize]
    }

    /// Edges in (source, target) order, sorted.
    pub fn edges(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        (0..self.num_nodes() as NodeId)
            .flat_map(move |s| self.successors(s).iter().map(move |&d| (s, d)))
    }

    /// Longest path from a source to each node (sources are at depth 0).
    pub fn depths(&self) -> &[u32] {
        &self.depth
    }

    /// A topological order (Kahn's algorithm, smallest ready id first among
    /// equals in FIFO order), or the nodes of one cycle.
    pub fn topological_order(&self) -> std::result::Result<Vec<NodeId>, Vec<usize>> {
        self.kahn().map(|(order, _)| order)
    }

    /// Each node's depth when node ids are a topological order (every edge
    /// ascends): one pass in id order, every predecessor's depth already known.
    /// The same depths as [`Dag::kahn`]'s, without its queue and in-degrees.
    fn depths_in_id_order(&self) -> Vec<u32> {
        let mut depth = vec![0u32; self.num_nodes()];
        for v in 0..self.num_nodes() {
            let d = self
                .predecessors(v as NodeId)
                .iter()
                .map(|&p| depth[p as usize] + 1)
                .max()
                .unwrap_or(0);
            depth[v] = d;
        }
        depth
    }

    /// [`Dag::topological_order`] and each node's depth (raised along every
    /// edge as Kahn's algorithm passes it), or the nodes of one cycle.
    fn kahn(&self) -> std::result::Result<(Vec<NodeId>, Vec<u32>), Vec<usize>> {
        let n = self.num_nodes();
        let mut indeg: Vec<u32> = self.in_offsets.windows(2).map(|w| w[1] - w[0]).collect();
        let mut depth = vec![0u32; n];
        let mut order: Vec<NodeId> = Vec::with_capacity(n);
        order.extend((0..n as NodeId).filter(|&v| indeg[v as usize] == 0));
        let mut head = 0;
        while head < order.len() {
            let v = order[head];
            head += 1;
            let d = depth[v as usize] + 1;
            for &w in self.successors(v) {
                depth[w as usize] = depth[w as usize].max(d);
                indeg[w as usize] -= 1;
                if indeg[w as usize] == 0 {
                    order.push(w);
                }
            }
        }
        if order.len() == n {
            return Ok((order, depth));
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
    use proptest::strategy::Strategy;

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

    /// Forward edges (lower id to higher) on `n` nodes from raw pairs, self
    /// loops dropped, repeats kept: a DAG numbered in topological order.
    fn forward_edges(n: usize, raw: &[(usize, usize)]) -> Vec<(i64, i64)> {
        raw.iter()
            .map(|&(a, b)| (a % n, b % n))
            .filter(|&(a, b)| a != b)
            .map(|(a, b)| (a.min(b) as i64, a.max(b) as i64))
            .collect()
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
            let edges = forward_edges(n, &raw);
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
            // depth: one more than the deepest predecessor (ids are topological here)
            let mut depth = vec![0u32; n];
            for x in 0..n {
                depth[x] = v.dag.predecessors(x as NodeId).iter().map(|&u| depth[u as usize] + 1).max().unwrap_or(0);
            }
            proptest::prop_assert_eq!(v.dag.depths(), &depth[..]);
            let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
            proptest::prop_assert_eq!(&Dag::rebuild(1, &vec![0; n], &s, &d).unwrap(), &v.dag);
        }
    }

    proptest::proptest! {
        /// Depths do not depend on the numbering: a DAG numbered in topological
        /// order (depths found in one pass in id order) and the same DAG
        /// renumbered so that some edges descend (depths found by Kahn's
        /// algorithm) give every node the same depth.
        #[test]
        fn depths_are_the_same_whatever_the_numbering(
            (n, raw, perm) in (2usize..40).prop_flat_map(|n| (
                proptest::strategy::Just(n),
                proptest::collection::vec((0usize..40, 0usize..40), 0..120),
                // a renumbering of the ids
                proptest::strategy::Just((0..n as i64).collect::<Vec<i64>>()).prop_shuffle(),
            )),
        ) {
            let edges = forward_edges(n, &raw);
            let ascending = dag(1, &vec![0; n], &edges).unwrap().dag;
            let renamed: Vec<(i64, i64)> =
                edges.iter().map(|&(a, b)| (perm[a as usize], perm[b as usize])).collect();
            let permuted = dag(1, &vec![0; n], &renamed).unwrap().dag;
            for (v, &w) in perm.iter().enumerate() {
                proptest::prop_assert_eq!(permuted.depths()[w as usize], ascending.depths()[v]);
            }
            let (s, d): (Vec<i64>, Vec<i64>) = renamed.iter().copied().unzip();
            proptest::prop_assert_eq!(&Dag::rebuild(1, &vec![0; n], &s, &d).unwrap(), &permuted);
        }
    }

    /// Edges of a DAG on `n` nodes (`u < v`), in scrambled order, about one
    /// in eight repeated.
    fn scrambled_edges(n: usize, m: usize) -> Vec<(i64, i64)> {
        let mut x = 0x9e3779b97f4a7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut edges = Vec::with_capacity(m);
        while edges.len() < m {
            let u = next() % (n as u64 - 1);
            let v = u + 1 + next() % 40.min(n as u64 - 1 - u);
            edges.push((u as i64, v as i64));
            if next() % 8 == 0 {
                edges.push((u as i64, v as i64));
            }
        }
        edges
    }

    fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(f)
    }

    #[test]
    fn a_big_graph_validates_as_its_definition_says_whatever_the_threads() {
        // past PARALLEL_ITEMS, so the passes split over threads
        let n = 90_000;
        let edges = scrambled_edges(n, 250_000);
        let ops: Vec<i32> = (0..n as i32).map(|i| i % 3).collect();
        let one = in_pool(1, || dag(3, &ops, &edges).unwrap());
        let three = in_pool(3, || dag(3, &ops, &edges).unwrap());
        assert_eq!(one.dag, three.dag);
        assert_eq!(one.kept_edges, three.kept_edges);
        let mut seen = std::collections::BTreeSet::new();
        let first: Vec<usize> = (0..edges.len())
            .filter(|&i| seen.insert(edges[i]))
            .collect();
        assert!(first.len() < edges.len());
        assert_eq!(one.kept_edges, Some(first));
        let mut succ = vec![Vec::new(); n];
        let mut pred = vec![Vec::new(); n];
        for &(u, v) in &seen {
            succ[u as usize].push(v as NodeId);
            pred[v as usize].push(u as NodeId);
        }
        let mut depth = vec![0u32; n];
        for v in 0..n {
            pred[v].sort_unstable();
            assert_eq!(one.dag.successors(v as NodeId), &succ[v][..]);
            assert_eq!(one.dag.predecessors(v as NodeId), &pred[v][..]);
            // edges go up in id: ids are a topological order
            depth[v] = pred[v]
                .iter()
                .map(|&u| depth[u as usize] + 1)
                .max()
                .unwrap_or(0);
        }
        assert_eq!(one.dag.depths(), &depth[..]);
        let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
        assert_eq!(Dag::rebuild(3, &ops, &s, &d).unwrap(), one.dag);
    }

    #[test]
    fn the_first_bad_item_of_a_big_graph_is_named() {
        let n = 90_000;
        let mut edges = scrambled_edges(n, 200_000);
        edges[190_000] = (5, n as i64 + 3);
        edges[150_000] = (7, 7);
        let mut ops = vec![0i32; n];
        ops[80_000] = 4;
        ops[70_000] = -1;
        for threads in [1, 3] {
            let e = in_pool(threads, || dag(2, &ops, &edges).unwrap_err());
            assert_eq!(
                e,
                Error::NegativeOp {
                    node: 70_000,
                    op: -1
                }
            );
            let e = in_pool(threads, || dag(2, &vec![0; n], &edges).unwrap_err());
            assert_eq!(
                e,
                Error::SelfLoop {
                    index: 150_000,
                    node: 7
                }
            );
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
