//! A canonical structural order of the nodes of a DAG: the rank every node of
//! a graph gets from its structure alone, whatever the input numbering.
//!
//! Mining breaks every tie (which of two equally ranked candidates merges
//! first) by fragment index, and the first partition of a graph numbers its
//! fragments by this rank, so every later decision is a function of structure:
//! permuting a graph's nodes permutes its macro graph and leaves the
//! vocabulary unchanged.
//!
//! The rank is one path of individualisation-refinement, as in `canon`, but
//! without the search, so it stays near-linear on a million nodes:
//! 1. **Colour refinement** (1-WL over in- and out-neighbours) to its fixed
//!    point, by partition refinement with a splitter queue (Hopcroft's "all but
//!    the largest part" rule): the work is proportional to the splits, so a
//!    chain of a million equal ops, which needs a million plain WL rounds,
//!    costs one pass. The first cells are the nodes of equal (depth, op label),
//!    depth being the longest path from a source; cells stay in a canonical
//!    order (by depth and op label, then by neighbour count when split) and the
//!    queue order follows cell positions, so the ordered partition is a
//!    function of structure. Starting from depths loses nothing and saves most
//!    of the splits: two nodes refinement cannot tell apart have the same
//!    depth (by induction on it, their predecessors' cells match), so the
//!    fixed point reached from op labels alone is this one as a set of cells,
//!    and only the order of cells within a depth differs.
//! 2. **Individualisation**: while a cell holds several nodes, one of them is
//!    split off and refinement runs again. This is what makes parallel
//!    identical branches, and the inputs that feed them, come out in one
//!    consistent relative order (ranking each cell on its own pairs branch 1's
//!    input with branch 2's body under some numberings).
//! 3. The rank is the position in that discrete partition, which is ordered by
//!    depth first, so merging proceeds from the inputs down as it did on the
//!    usual topological numberings.
//!
//! What is left: the node split off in step 2 is picked by position inside its
//! cell, which depends on the numbering. When the cell is an orbit of the
//! automorphisms fixing what was individualised before (two identical heads of
//! one block, identical inputs of a graph: every case met in real graphs),
//! every pick gives the same ordered result up to that automorphism. When it
//! is not (the cell mixes nodes that are 1-WL-equivalent even after the
//! earlier picks but not isomorphic, e.g. a 12-cycle-like bipartite block
//! beside two 6-cycle-like ones, all of one op), the result may depend on the
//! numbering; telling the two apart takes the full search of `canon`, too
//! costly for a million nodes. [`residual_ties`] counts the picks, so a caller
//! can see when a graph needed any.

use std::collections::VecDeque;

use crate::control::Control;
use crate::error::Result;
use crate::graph::{compressed_rows, Dag};

/// An ordered partition of the nodes into cells, refined in place. A cell is
/// named by its start in `elems`.
///
/// The refiner works on its own copy of the graph, renumbered so that node `i`
/// is the `i`-th node of the first ordered partition (by depth, op label, then
/// input id), with every adjacency list kept in its input order. Nodes of one cell,
/// and the neighbours of a cell, then sit close together in memory, which is
/// most of the cost of refining a large graph (it is bound by cache misses).
/// The algorithm never compares node ids, and it meets the same nodes in the
/// same order, so the ordered partition it ends with is the one it would reach
/// on the input numbering, node for node.
struct Refiner {
    /// Input id of each local node.
    input_id: Vec<u32>,
    succ: Adjacency,
    pred: Adjacency,
    elems: Vec<u32>,
    /// Per index `i`: node `i`'s position, cell and count, and the end of the
    /// cell starting at position `i`, side by side. A node's position and its
    /// cell's start stay near its index (cells are runs of the first
    /// partition's order, which is the local numbering), so what refining
    /// reads of one neighbour shares a cache line (a pure layout choice: the
    /// same partition, split in the same order).
    at: Vec<Slot>,
    queued: Vec<bool>,
    queue: VecDeque<u32>,
    touched: Vec<u32>,
    splitter: Vec<u32>,
    bounds: Vec<usize>,
    /// Work done since the last cancellation check.
    work: usize,
}

/// See [`Refiner::at`].
#[derive(Clone, Copy, Default)]
struct Slot {
    /// Position of node `i` in `elems`.
    pos: u32,
    /// Start of node `i`'s cell.
    cell: u32,
    /// Neighbours of node `i` in the current splitter.
    count: u32,
    /// End of the cell starting at position `i` (meaningful at cell starts).
    end: u32,
}

impl Refiner {
    /// Cells of equal (depth, op label), in that order, all queued.
    fn new(dag: &Dag, op_labels: &[u64], depth: &[u32]) -> Self {
        let n = dag.num_nodes();
        // Slots: the distinct labels in use, in label order.
        let mut used = vec![false; op_labels.len()];
        for &o in dag.ops() {
            used[o as usize] = true;
        }
        let mut distinct: Vec<u64> = (0..op_labels.len())
            .filter(|&o| used[o])
            .map(|o| op_labels[o])
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        let slot_of_op: Vec<u32> = op_labels
            .iter()
            .map(|l| distinct.binary_search(l).map_or(0, |i| i as u32))
            .collect();
        let slot: Vec<u32> = dag.ops().iter().map(|&o| slot_of_op[o as usize]).collect();
        // Nodes by (depth, slot, id): grouped by depth in id order, then each
        // depth's run stably sorted by slot (runs are short; visiting the
        // nodes in id order keeps the grouping's writes close together).
        let levels = depth.iter().map(|&d| d as usize + 1).max().unwrap_or(0);
        let (starts, mut elems) =
            compressed_rows(levels, n, || (0..n as u32).map(|v| (depth[v as usize], v)));
        for w in starts.windows(2) {
            let run = &mut elems[w[0] as usize..w[1] as usize];
            if run.len() > 1 {
                run.sort_by_key(|&v| slot[v as usize]);
            }
        }
        let mut local = vec![0u32; n];
        for (i, &v) in elems.iter().enumerate() {
            local[v as usize] = i as u32;
        }
        let (succ, pred) = join_if(
            n >= PARALLEL_NODES,
            || Adjacency::new(&elems, &local, dag.num_edges(), |v| dag.successors(v)),
            || Adjacency::new(&elems, &local, dag.num_edges(), |v| dag.predecessors(v)),
        );
        drop(local);
        // Local node i is elems[i]: the first cells are the runs of one (depth, label).
        let input_id = elems;
        let mut at: Vec<Slot> = (0..n as u32)
            .map(|i| Slot {
                pos: i,
                ..Slot::default()
            })
            .collect();
        let mut queued = vec![false; n];
        let mut queue = VecDeque::new();
        let label = |i: usize| {
            let v = input_id[i] as usize;
            (depth[v], slot[v])
        };
        let mut start = 0usize;
        for i in 0..n {
            if i > 0 && label(i) != label(i - 1) {
                at[start].end = i as u32;
                queued[start] = true;
                queue.push_back(start as u32);
                start = i;
            }
            at[i].cell = start as u32;
        }
        if n > 0 {
            at[start].end = n as u32;
            queued[start] = true;
            queue.push_back(start as u32);
        }
        Refiner {
            input_id,
            succ,
            pred,
            elems: (0..n as u32).collect(),
            at,
            queued,
            queue,
            touched: Vec::new(),
            splitter: Vec::new(),
            bounds: Vec::new(),
            work: 0,
        }
    }

    /// Refines until the partition is equitable.
    fn refine(&mut self, ctl: &Control) -> Result<()> {
        while let Some(s) = self.queue.pop_front() {
            self.work += (self.at[s as usize].end - s) as usize;
            if self.work >= 1 << 16 {
                self.work = 0;
                ctl.check()?;
            }
            self.queued[s as usize] = false;
            let mut splitter = std::mem::take(&mut self.splitter);
            splitter.clear();
            splitter.extend_from_slice(&self.elems[s as usize..self.at[s as usize].end as usize]);
            for forward in [true, false] {
                // Neighbours that are cells of their own cannot split: when all
                // of them are, counting them would change nothing (what
                // `split_touched` finds out after counting), so this direction
                // is skipped after a look that stops at the first other one.
                let next = |v: u32| {
                    if forward {
                        self.succ.of(v)
                    } else {
                        self.pred.of(v)
                    }
                };
                let alone = |w: u32| {
                    let c = self.at[w as usize].cell;
                    self.at[c as usize].end == c + 1
                };
                if splitter.iter().all(|&v| next(v).iter().all(|&w| alone(w))) {
                    continue;
                }
                self.touched.clear();
                for &v in &splitter {
                    for &w in next(v) {
                        let slot = &mut self.at[w as usize];
                        if slot.count == 0 {
                            self.touched.push(w);
                        }
                        slot.count += 1;
                    }
                }
                self.split_touched();
            }
            self.splitter = splitter;
        }
        Ok(())
    }

    /// Splits every cell with touched nodes by their counts (untouched ones
    /// count 0 and stay first), queueing the new cells; resets the counts.
    fn split_touched(&mut self) {
        // (a splitter whose neighbours are all cells of their own is skipped
        // before counting: see `refine`)
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable_by_key(|&w| {
            let slot = &self.at[w as usize];
            (slot.cell, slot.count)
        });
        let mut i = 0;
        while i < touched.len() {
            let c = self.at[touched[i] as usize].cell;
            let mut j = i;
            while j < touched.len() && self.at[touched[j] as usize].cell == c {
                j += 1;
            }
            self.split(c, &touched[i..j]);
            i = j;
        }
        for &w in &touched {
            self.at[w as usize].count = 0;
        }
        self.touched = touched;
    }

    /// Splits cell `c` whose touched members `group` are sorted by count.
    fn split(&mut self, c: u32, group: &[u32]) {
        let (start, end) = (c as usize, self.at[c as usize].end as usize);
        let count = |w: u32| self.at[w as usize].count;
        let uniform = count(group[0]) == count(group[group.len() - 1]);
        if group.len() == end - start && uniform {
            return;
        }
        // Move the touched members to the back of the cell, in count order.
        let first = end - group.len();
        for (k, &w) in group.iter().enumerate().rev() {
            let to = first + k;
            let from = self.at[w as usize].pos as usize;
            let other = self.elems[to];
            self.elems.swap(from, to);
            self.at[other as usize].pos = from as u32;
            self.at[w as usize].pos = to as u32;
        }
        // The sub-cells: [start, first) (count 0), then one per count.
        let mut bounds = std::mem::take(&mut self.bounds);
        bounds.clear();
        if first > start {
            bounds.push(start);
        }
        for k in 0..group.len() {
            if k == 0 || self.at[group[k] as usize].count != self.at[group[k - 1] as usize].count {
                bounds.push(first + k);
            }
        }
        bounds.push(end);
        let was_queued = self.queued[start];
        let largest = (0..bounds.len() - 1)
            .max_by_key(|&b| (bounds[b + 1] - bounds[b], std::cmp::Reverse(b)))
            .expect("a cell has a part");
        for b in 0..bounds.len() - 1 {
            let (s, e) = (bounds[b], bounds[b + 1]);
            self.at[s].end = e as u32;
            if b > 0 {
                for &w in &self.elems[s..e] {
                    self.at[w as usize].cell = s as u32;
                }
            }
            let queue = if was_queued { b > 0 } else { b != largest };
            if queue {
                self.queued[s] = true;
                self.queue.push_back(s as u32);
            }
        }
        self.bounds = bounds;
    }

    /// Refines, then individualises the last node of the first non-singleton
    /// cell and refines again until every cell is a single node. Returns how
    /// many nodes were individualised.
    fn discrete(&mut self, ctl: &Control) -> Result<usize> {
        self.refine(ctl)?;
        let n = self.elems.len();
        let mut picks = 0;
        let mut at = 0usize;
        loop {
            while at < n && self.at[at].end as usize == at + 1 {
                at += 1;
            }
            if at == n {
                return Ok(picks);
            }
            let end = self.at[at].end as usize;
            let v = self.elems[end - 1];
            self.at[at].end = (end - 1) as u32;
            self.at[end - 1].end = end as u32;
            self.at[v as usize].cell = (end - 1) as u32;
            self.queued[end - 1] = true;
            self.queue.push_back((end - 1) as u32);
            picks += 1;
            self.work += 1;
            self.refine(ctl)?;
        }
    }
}

/// One direction of a graph's adjacency in compressed rows, renumbered.
struct Adjacency {
    offsets: Vec<usize>,
    targets: Vec<u32>,
}

impl Adjacency {
    /// Row `i` lists `next(input[i])` in its order, each neighbour `w` as
    /// `local[w]`; the rows hold `num_edges` neighbours in all.
    fn new<'g>(
        input: &[u32],
        local: &[u32],
        num_edges: usize,
        next: impl Fn(u32) -> &'g [u32],
    ) -> Self {
        let mut offsets = Vec::with_capacity(input.len() + 1);
        offsets.push(0);
        let mut targets = Vec::with_capacity(num_edges);
        for &v in input {
            targets.extend(next(v).iter().map(|&w| local[w as usize]));
            offsets.push(targets.len());
        }
        Adjacency { offsets, targets }
    }

    fn of(&self, v: u32) -> &[u32] {
        &self.targets[self.offsets[v as usize]..self.offsets[v as usize + 1]]
    }
}

/// Nodes from which a graph's order runs its independent parts on two threads.
const PARALLEL_NODES: usize = 1 << 16;

/// `(a(), b())`, on two threads when `parallel`.
fn join_if<A: Send, B: Send>(
    parallel: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if parallel {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// (rank of every node, individualisations needed).
///
/// The first cells are runs of one depth, so the discrete partition is
/// ordered by depth already and a node's rank is its position in it.
fn ranking(dag: &Dag, op_labels: &[u64], ctl: &Control) -> Result<(Vec<u32>, usize)> {
    let depth = dag.depths();
    let mut r = Refiner::new(dag, op_labels, depth);
    ctl.check()?;
    let picks = r.discrete(ctl)?;
    ctl.check()?;
    let mut rank = vec![0u32; dag.num_nodes()];
    for (i, &v) in r.elems.iter().enumerate() {
        rank[r.input_id[v as usize] as usize] = i as u32;
    }
    debug_assert!(r.elems.windows(2).all(|w| {
        depth[r.input_id[w[0] as usize] as usize] <= depth[r.input_id[w[1] as usize] as usize]
    }));
    Ok((rank, picks))
}

/// The canonical rank of every node of `dag` (a permutation of `0..n`), with
/// node labels `op_labels[op]`.
pub fn canonical_ranks(dag: &Dag, op_labels: &[u64], ctl: &Control) -> Result<Vec<u32>> {
    Ok(ranking(dag, op_labels, ctl)?.0)
}

/// How many nodes [`canonical_ranks`] had to individualise (pick among nodes
/// colour refinement cannot tell apart). Zero means the order is canonical
/// outright; otherwise it is canonical when each pick was among an orbit (see
/// the module header).
pub fn residual_ties(dag: &Dag, op_labels: &[u64], ctl: &Control) -> Result<usize> {
    Ok(ranking(dag, op_labels, ctl)?.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(ops: &[i32], edges: &[(i64, i64)]) -> Dag {
        let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
        Dag::validate(4, ops, &s, &d).unwrap().dag
    }

    const LABELS: [u64; 4] = [7, 8, 9, 10];

    #[test]
    fn a_long_chain_of_equal_ops_is_ranked_along_the_chain() {
        let n = 200_000i64;
        let edges: Vec<(i64, i64)> = (0..n - 1).map(|i| (n - 1 - i, n - 2 - i)).collect();
        let g = dag(&vec![0; n as usize], &edges);
        let r = canonical_ranks(&g, &LABELS, &Control::new()).unwrap();
        // node n-1 is the source
        assert!((0..n as usize).all(|v| r[v] == (n as usize - 1 - v) as u32));
    }

    #[test]
    fn refinement_sees_descendants_of_equal_siblings() {
        // 0 -> {1, 2} (op 1); 1 -> 3 (op 2), 2 -> 4 (op 3): 1 and 2 differ
        // only by what follows them.
        let a = dag(&[0, 1, 1, 2, 3], &[(0, 1), (0, 2), (1, 3), (2, 4)]);
        let b = dag(&[0, 1, 1, 3, 2], &[(0, 1), (0, 2), (1, 3), (2, 4)]);
        let ctl = Control::new();
        let (ra, rb) = (
            canonical_ranks(&a, &LABELS, &ctl).unwrap(),
            canonical_ranks(&b, &LABELS, &ctl).unwrap(),
        );
        // b is a with 1 <-> 2 and 3 <-> 4 swapped
        assert_eq!((ra[1], ra[2], ra[3], ra[4]), (rb[2], rb[1], rb[4], rb[3]));
        assert_eq!(residual_ties(&a, &LABELS, &ctl).unwrap(), 0);
    }

    #[test]
    fn symmetric_branches_are_the_only_ties() {
        // 0 -> {1, 2} -> 3, all of one op: 1 and 2 are an orbit.
        let g = dag(&[0, 0, 0, 0], &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        assert_eq!(residual_ties(&g, &LABELS, &Control::new()).unwrap(), 1);
    }

    #[test]
    fn inputs_of_identical_branches_pair_with_their_branch() {
        // source 0 -> {1, 4}; inputs 2 and 5 (sources of op 2); 1,2 -> 3 and 4,5 -> 6.
        // Whatever the numbering, the input ranked first feeds the branch ranked first.
        let edges = [(0, 1), (0, 4), (1, 3), (2, 3), (4, 6), (5, 6)];
        let ops = [0, 1, 2, 3, 1, 2, 3];
        let ctl = Control::new();
        for swap_inputs in [false, true] {
            let mut o = ops;
            let mut e = edges;
            if swap_inputs {
                o.swap(2, 5);
                for x in e.iter_mut() {
                    let f = |v: i64| match v {
                        2 => 5,
                        5 => 2,
                        v => v,
                    };
                    *x = (f(x.0), f(x.1));
                }
            }
            let g = dag(&o, &e);
            let r = canonical_ranks(&g, &LABELS, &ctl).unwrap();
            let (input_of_3, input_of_6) = if swap_inputs { (5, 2) } else { (2, 5) };
            assert_eq!(r[1] < r[4], r[input_of_3] < r[input_of_6]);
        }
    }
}
