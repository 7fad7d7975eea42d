//! The round engine of `strategy="merge"`: byte-pair encoding over graphs.
//!
//! Every node starts as a fragment labelled by its op. Each round (a level of the
//! vocabulary):
//! 1. every pair of adjacent fragments `A -> B` is a candidate, keyed exactly by
//!    `(motif of A, motif of B, the A->B edges in canonical positions)`; each
//!    distinct key's union is canonicalised once and cached, so the work is
//!    linear in the corpus plus one canonical form per *distinct* key;
//! 2. candidates are counted by the canonical id of the union: the greedy
//!    count of non-overlapping occurrences, summed over graphs, and the number
//!    of graphs with one (support);
//! 3. the frequent ones (`count >= min_count`, `support >= min_support`) become
//!    this round's rules, ranked by count (then id); every graph applies them
//!    greedily without overlap, in rank order;
//! 4. merges that would make the contracted graph cyclic (a fragment that is
//!    not convex, or two fragments that reach each other) are undone, so every
//!    macro graph of a DAG is a DAG; rules left below `min_count` after
//!    application are dropped and the round re-applied without them.
//!
//! Fragments of a graph's first partition are numbered by the canonical rank of
//! their node ([`crate::order`]) and every tie below is broken by fragment index,
//! so no decision depends on how the input numbered its nodes.
//!
//! This module owns one round on one graph (candidates, counts, application);
//! [`crate::shard`] drives rounds over many graphs and shards.
//! [`Miner::apply`] replays the recorded rules on new graphs with the same code,
//! so applying a mined vocabulary to its own corpus reproduces the mined macro
//! graphs exactly. Nothing depends on thread count or input order: ids are
//! canonical, counts are sums, and every ranking is by (count, id).

use rustc_hash::FxHashMap as HashMap;

use rayon::prelude::*;

use crate::canon::canonical_form;
use crate::control::Control;
use crate::error::{Error, Result};
use crate::graph::Dag;
use crate::motif::{Form, Key, Macro, Motif, MAX_MOTIF_NODES};
use crate::order::canonical_ranks;
use crate::quotient::Quotient;

#[derive(Debug, Clone)]
struct Union {
    id: u128,
    /// `order[pos]` indexes the concatenation `A.nodes ++ B.nodes`.
    order: Vec<u32>,
}

/// A partition of one graph into fragments, stored flat (no allocation per
/// fragment): fragment `f` holds `nodes[offsets[f]..offsets[f + 1]]`, in
/// canonical position order, and is an instance of motif `motif[f]`.
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    frag_of: Vec<u32>,
    pos: Vec<u32>,
    motif: Vec<u128>,
    offsets: Vec<u32>,
    nodes: Vec<u32>,
}

impl Partition {
    pub(crate) fn len(&self) -> usize {
        self.motif.len()
    }

    fn nodes_of(&self, f: u32) -> &[u32] {
        &self.nodes[self.offsets[f as usize] as usize..self.offsets[f as usize + 1] as usize]
    }
}

pub(crate) struct Candidate {
    pub(crate) key: Key,
    fa: u32,
    fb: u32,
    /// Index into `Miner::union_list`, set by `Miner::resolve`.
    union: u32,
}

/// The mining engine: the motif forms seen so far, the cache of candidate
/// unions and the rules of every level. Kept after mining to apply the
/// vocabulary to new graphs.
#[derive(Debug, Default)]
pub struct Miner {
    op_labels: Vec<u64>,
    forms: HashMap<u128, Form>,
    unions: HashMap<Key, u32>,
    union_list: Vec<Union>,
    /// Union ids applied at each level, best rank first.
    rules: Vec<Vec<u128>>,
    single: HashMap<u32, u128>,
}

impl Miner {
    /// A miner for a corpus whose op ids label nodes with `op_labels[op]`.
    pub fn new(op_labels: Vec<u64>) -> Self {
        Miner {
            op_labels,
            ..Default::default()
        }
    }

    /// Extends the op labels for new op ids (existing ids must keep their labels).
    pub fn extend_labels(&mut self, labels: &[u64]) {
        if labels.len() > self.op_labels.len() {
            self.op_labels
                .extend_from_slice(&labels[self.op_labels.len()..]);
        }
    }

    pub(crate) fn op_labels(&self) -> &[u64] {
        &self.op_labels
    }

    pub fn num_levels(&self) -> usize {
        self.rules.len()
    }

    fn single_id(&mut self, op: u32) -> Result<u128> {
        if let Some(&id) = self.single.get(&op) {
            return Ok(id);
        }
        let c = canonical_form(&[self.op_labels[op as usize]], &[])?;
        self.single.insert(op, c.id);
        self.forms.insert(
            c.id,
            Form {
                ops: vec![op],
                edges: vec![],
            },
        );
        Ok(c.id)
    }

    /// The first partition of every graph: one fragment per node, fragment
    /// `f` holding the node of canonical rank `f` ([`crate::order`]), so that
    /// every tie broken by fragment index later is broken by structure.
    pub(crate) fn initial(&mut self, graphs: &[&Dag], ctl: &Control) -> Result<Vec<Partition>> {
        let mut ops: Vec<u32> = graphs
            .iter()
            .flat_map(|g| g.ops().iter().copied())
            .collect();
        ops.sort_unstable();
        ops.dedup();
        for &op in &ops {
            if op as usize >= self.op_labels.len() {
                return Err(Error::InvalidArgument(format!(
                    "op id {op} has no label ({} labels)",
                    self.op_labels.len()
                )));
            }
            self.single_id(op)?;
        }
        let (single, labels) = (&self.single, &self.op_labels);
        graphs
            .par_iter()
            .map(|g| {
                let rank = canonical_ranks(g, labels, ctl)?;
                let mut nodes = vec![0u32; g.num_nodes()];
                for (v, &r) in rank.iter().enumerate() {
                    nodes[r as usize] = v as u32;
                }
                Ok(Partition {
                    motif: nodes.iter().map(|&v| single[&g.op(v)]).collect(),
                    frag_of: rank,
                    pos: vec![0; g.num_nodes()],
                    offsets: (0..=g.num_nodes() as u32).collect(),
                    nodes,
                })
            })
            .collect()
    }

    /// Adjacent fragment pairs of one graph whose union fits `max_nodes` and is
    /// convex on its own, ordered by (source fragment, target fragment).
    pub(crate) fn candidates(
        dag: &Dag,
        p: &Partition,
        max_nodes: usize,
        ctl: &Control,
    ) -> Result<Vec<Candidate>> {
        // Parallel inside one graph (a lone big graph uses every core); the
        // sort makes the result independent of how the work was split.
        let mut cross: Vec<(u32, u32, u32, u32)> = (0..dag.num_nodes() as u32)
            .into_par_iter()
            .flat_map_iter(|u| {
                dag.successors(u).iter().filter_map(move |&v| {
                    let (fa, fb) = (p.frag_of[u as usize], p.frag_of[v as usize]);
                    (fa != fb).then(|| (fa, fb, p.pos[u as usize], p.pos[v as usize]))
                })
            })
            .collect();
        ctl.check()?;
        cross.par_sort_unstable();
        ctl.check()?;
        let succ = FragGraph::new(p.len(), &cross);
        ctl.check()?;
        let mut out = Vec::new();
        let mut i = 0;
        while i < cross.len() {
            let (fa, fb) = (cross[i].0, cross[i].1);
            let mut j = i;
            while j < cross.len() && cross[j].0 == fa && cross[j].1 == fb {
                j += 1;
            }
            let size = p.nodes_of(fa).len() + p.nodes_of(fb).len();
            if size <= max_nodes && succ.no_detour(fa, fb) {
                out.push(Candidate {
                    key: Key {
                        a: p.motif[fa as usize],
                        b: p.motif[fb as usize],
                        cross: cross[i..j].iter().map(|c| (c.2, c.3)).collect(),
                    },
                    fa,
                    fb,
                    union: u32::MAX,
                });
            }
            i = j;
        }
        Ok(out)
    }

    fn union_of(&self, key: &Key, ctl: &Control) -> Result<(Union, Form)> {
        let (fa, fb) = (&self.forms[&key.a], &self.forms[&key.b]);
        let na = fa.ops.len() as u32;
        let ops: Vec<u32> = fa.ops.iter().chain(&fb.ops).copied().collect();
        let mut edges: Vec<(u32, u32)> = fa.edges.clone();
        edges.extend(fb.edges.iter().map(|&(s, d)| (s + na, d + na)));
        edges.extend(key.cross.iter().map(|&(s, d)| (s, d + na)));
        let (c, form) = Form::canonical(&ops, &self.op_labels, &edges, ctl)?;
        Ok((
            Union {
                id: c.id,
                order: c.order,
            },
            form,
        ))
    }

    /// Canonicalises every key not seen before (in parallel), caches it, and
    /// points every candidate at its union.
    pub(crate) fn resolve(&mut self, cands: &mut [Vec<Candidate>], ctl: &Control) -> Result<()> {
        // One lookup per candidate, in parallel; only keys never seen are
        // looked up again after they are canonicalised.
        let index = &self.unions;
        cands
            .par_iter_mut()
            .flatten()
            .for_each(|c| c.union = index.get(&c.key).copied().unwrap_or(u32::MAX));
        ctl.check()?;
        let mut missing: Vec<&Key> = cands
            .iter()
            .flatten()
            .filter(|c| c.union == u32::MAX)
            .map(|c| &c.key)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        ctl.check()?;
        let this = &*self;
        let solved: Vec<(Key, Union, Form)> = missing
            .par_iter()
            .map(|k| {
                ctl.check()?;
                let (u, f) = this.union_of(k, ctl)?;
                Ok(((*k).clone(), u, f))
            })
            .collect::<Result<_>>()?;
        for (k, u, f) in solved {
            self.forms.entry(u.id).or_insert(f);
            self.unions.insert(k, self.union_list.len() as u32);
            self.union_list.push(u);
        }
        let index = &self.unions;
        cands
            .par_iter_mut()
            .flatten()
            .filter(|c| c.union == u32::MAX)
            .for_each(|c| c.union = index[&c.key]);
        Ok(())
    }

    /// Applies ranked rules to one graph: greedy, non-overlapping, rank order,
    /// then undoes merges on quotient cycles. Returns the new partition and
    /// the (union id, candidate index) of every merge kept.
    pub(crate) fn apply_rules(
        &self,
        dag: &Dag,
        p: &Partition,
        cands: &[Candidate],
        rank: &HashMap<u128, u32>,
        ctl: &Control,
    ) -> Result<(Partition, Vec<(u128, u32)>)> {
        let mut sel: Vec<(u32, u32, u32, usize)> = cands
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let u = &self.union_list[c.union as usize];
                rank.get(&u.id)
                    .map(|&r| (r, c.fa.min(c.fb), c.fa.max(c.fb), i))
            })
            .collect();
        sel.par_sort_unstable(); // distinct keys: deterministic
        let mut used = vec![false; p.len()];
        let mut chosen: Vec<usize> = Vec::new();
        for &(_, _, _, i) in &sel {
            let c = &cands[i];
            if !used[c.fa as usize] && !used[c.fb as usize] {
                used[c.fa as usize] = true;
                used[c.fb as usize] = true;
                chosen.push(i);
            }
        }
        // `chosen` is in rank order. Merges on a quotient cycle are undone one
        // per strongly connected component, lowest rank first, until the
        // quotient is a DAG: undoing only splits parts, so it never adds a cycle.
        loop {
            ctl.check()?;
            let (next, merged_at) = self.merge(p, cands, &chosen);
            ctl.check()?;
            let quotient = Quotient::new(dag, &next.frag_of);
            ctl.check()?;
            let sccs = quotient.cyclic_components(next.len());
            if sccs.is_empty() {
                let kept = chosen
                    .iter()
                    .map(|&i| (self.union_list[cands[i].union as usize].id, i as u32))
                    .collect();
                return Ok((next, kept));
            }
            let mut comp_of = vec![usize::MAX; next.len()];
            for (c, members) in sccs.iter().enumerate() {
                for &f in members {
                    comp_of[f as usize] = c;
                }
            }
            let mut undo = vec![None; sccs.len()];
            for (k, &i) in chosen.iter().enumerate() {
                let c = comp_of[merged_at[&i] as usize];
                if c != usize::MAX {
                    undo[c] = Some(k); // the last (worst-ranked) merge of the component
                }
            }
            let mut drop: Vec<usize> = undo.into_iter().flatten().collect();
            drop.sort_unstable();
            if drop.is_empty() {
                chosen.clear(); // unreachable: a quotient cycle needs a merged part
                continue;
            }
            let mut k = 0;
            let mut pos = 0;
            chosen.retain(|_| {
                let remove = drop.get(pos) == Some(&k);
                if remove {
                    pos += 1;
                }
                k += 1;
                !remove
            });
        }
    }

    /// The partition after merging the `chosen` candidates; also the new
    /// fragment index of each merge. Fragments keep the order of their first
    /// old fragment, so the result is deterministic.
    fn merge(
        &self,
        p: &Partition,
        cands: &[Candidate],
        chosen: &[usize],
    ) -> (Partition, HashMap<usize, u32>) {
        let mut partner: Vec<Option<usize>> = vec![None; p.len()];
        for &i in chosen {
            partner[cands[i].fa as usize] = Some(i);
            partner[cands[i].fb as usize] = Some(i);
        }
        let n_frags = p.len() - chosen.len();
        let mut motif: Vec<u128> = Vec::with_capacity(n_frags);
        let mut offsets: Vec<u32> = Vec::with_capacity(n_frags + 1);
        let mut nodes: Vec<u32> = Vec::with_capacity(p.nodes.len());
        let mut frag_of = vec![0u32; p.frag_of.len()];
        let mut pos = vec![0u32; p.pos.len()];
        let mut merged_at = HashMap::with_capacity_and_hasher(chosen.len(), Default::default());
        offsets.push(0);
        for f in 0..p.len() as u32 {
            let new_f = motif.len() as u32;
            match partner[f as usize] {
                None => {
                    motif.push(p.motif[f as usize]);
                    nodes.extend_from_slice(p.nodes_of(f));
                }
                Some(i) => {
                    let c = &cands[i];
                    if f != c.fa.min(c.fb) {
                        continue;
                    }
                    let u = &self.union_list[c.union as usize];
                    let (a, b) = (p.nodes_of(c.fa), p.nodes_of(c.fb));
                    let na = a.len() as u32;
                    merged_at.insert(i, new_f);
                    motif.push(u.id);
                    nodes.extend(u.order.iter().map(|&l| {
                        if l < na {
                            a[l as usize]
                        } else {
                            b[(l - na) as usize]
                        }
                    }));
                }
            }
            let start = *offsets.last().expect("non-empty") as usize;
            for (q, &v) in nodes[start..].iter().enumerate() {
                frag_of[v as usize] = new_f;
                pos[v as usize] = q as u32;
            }
            offsets.push(nodes.len() as u32);
        }
        (
            Partition {
                frag_of,
                pos,
                motif,
                offsets,
                nodes,
            },
            merged_at,
        )
    }

    /// Greedy non-overlapping occurrence count of each union id in one graph.
    pub(crate) fn count(&self, cands: &[Candidate], num_frags: usize) -> HashMap<u128, u64> {
        let mut occ: Vec<(u128, u32, u32)> = cands
            .iter()
            .map(|c| (self.union_list[c.union as usize].id, c.fa, c.fb))
            .collect();
        occ.par_sort_unstable(); // distinct keys: deterministic
        let mut stamp = vec![u128::MAX; num_frags];
        let mut counts = HashMap::default();
        for (id, fa, fb) in occ {
            if stamp[fa as usize] != id && stamp[fb as usize] != id {
                stamp[fa as usize] = id;
                stamp[fb as usize] = id;
                *counts.entry(id).or_insert(0u64) += 1;
            }
        }
        counts
    }

    /// A miner that applies the given rules (one list per level, best first),
    /// knowing the forms of every motif they mention: the engine of a corpus
    /// mined in shards.
    pub fn with_rules(op_labels: Vec<u64>, rules: Vec<Vec<u128>>, vocabulary: &[Motif]) -> Self {
        let mut miner = Miner::new(op_labels);
        miner.rules = rules;
        for m in vocabulary {
            miner.forms.insert(m.id, m.form.clone());
            if m.level == 0 && m.form.ops.len() == 1 {
                miner.single.insert(m.form.ops[0], m.id);
            }
        }
        miner
    }

    pub(crate) fn push_rules(&mut self, rules: Vec<u128>) {
        self.rules.push(rules);
    }

    /// The id of the one-node motif of `op`, which [`Miner::initial`] has seen.
    pub(crate) fn single(&self, op: u32) -> u128 {
        self.single[&op]
    }

    /// Contracts new graphs with the recorded rules, level by level.
    pub fn apply(&mut self, graphs: &[&Dag], ctl: &Control) -> Result<Vec<Macro>> {
        let mut parts = self.initial(graphs, ctl)?;
        let max_nodes = MAX_MOTIF_NODES;
        for l in 0..self.rules.len() {
            ctl.check()?;
            let rank: HashMap<u128, u32> = self.rules[l]
                .iter()
                .enumerate()
                .map(|(r, &id)| (id, r as u32))
                .collect();
            let mut cands: Vec<Vec<Candidate>> = graphs
                .par_iter()
                .zip(&parts)
                .map(|(g, p)| Self::candidates(g, p, max_nodes, ctl))
                .collect::<Result<_>>()?;
            self.resolve(&mut cands, ctl)?;
            let this = &*self;
            parts = graphs
                .par_iter()
                .zip(&parts)
                .zip(&cands)
                .map(|((g, p), c)| Ok(this.apply_rules(g, p, c, &rank, ctl)?.0))
                .collect::<Result<_>>()?;
        }
        graphs
            .par_iter()
            .zip(&parts)
            .map(|(g, p)| {
                ctl.check()?;
                Ok(macro_of(g, p))
            })
            .collect()
    }

    pub fn form(&self, id: u128) -> Option<&Form> {
        self.forms.get(&id)
    }
}

/// Visits allowed when looking for a detour; past it a merge counts as not convex.
const DETOUR_BUDGET: usize = 256;

/// The current fragment graph (a DAG) with a topological index per fragment,
/// to test whether merging an edge `a -> b` keeps the quotient acyclic.
struct FragGraph {
    offsets: Vec<usize>,
    succ: Vec<u32>,
    topo: Vec<u32>,
}

impl FragGraph {
    fn new(n: usize, cross: &[(u32, u32, u32, u32)]) -> Self {
        let mut offsets = vec![0usize; n + 1];
        let mut succ: Vec<u32> = Vec::new();
        let mut indeg = vec![0u32; n];
        let mut last = None;
        for &(a, b, _, _) in cross {
            if last != Some((a, b)) {
                offsets[a as usize + 1] += 1;
                succ.push(b);
                indeg[b as usize] += 1;
                last = Some((a, b));
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut topo = vec![0u32; n];
        let mut queue: Vec<u32> = (0..n as u32).filter(|&v| indeg[v as usize] == 0).collect();
        let mut head = 0;
        while head < queue.len() {
            let v = queue[head];
            topo[v as usize] = head as u32;
            head += 1;
            for &w in &succ[offsets[v as usize]..offsets[v as usize + 1]] {
                indeg[w as usize] -= 1;
                if indeg[w as usize] == 0 {
                    queue.push(w);
                }
            }
        }
        FragGraph {
            offsets,
            succ,
            topo,
        }
    }

    fn successors(&self, v: u32) -> &[u32] {
        &self.succ[self.offsets[v as usize]..self.offsets[v as usize + 1]]
    }

    /// True when no path `a -> x -> ... -> b` avoids the direct edge, i.e.
    /// merging `a` and `b` alone keeps the quotient a DAG. A search past
    /// [`DETOUR_BUDGET`] visits answers false (conservatively).
    fn no_detour(&self, a: u32, b: u32) -> bool {
        let limit = self.topo[b as usize];
        if limit == self.topo[a as usize] + 1 {
            return true;
        }
        let mut stack: Vec<u32> = self
            .successors(a)
            .iter()
            .copied()
            .filter(|&x| x != b && self.topo[x as usize] < limit)
            .collect();
        let mut seen: Vec<u32> = stack.clone();
        while let Some(x) = stack.pop() {
            for &y in self.successors(x) {
                if y == b {
                    return false;
                }
                if self.topo[y as usize] < limit && !seen.contains(&y) {
                    if seen.len() >= DETOUR_BUDGET {
                        return false;
                    }
                    seen.push(y);
                    stack.push(y);
                }
            }
        }
        true
    }
}

/// The macro graph of a final partition: macro nodes ordered by smallest node.
pub(crate) fn macro_of(dag: &Dag, p: &Partition) -> Macro {
    let mut order: Vec<(u32, u32)> = (0..p.len() as u32)
        .map(|f| (*p.nodes_of(f).iter().min().unwrap_or(&0), f))
        .collect();
    order.sort_unstable();
    let mut new_index = vec![0u32; p.len()];
    for (i, &(_, f)) in order.iter().enumerate() {
        new_index[f as usize] = i as u32;
    }
    let node_to_macro: Vec<u32> = p.frag_of.iter().map(|&f| new_index[f as usize]).collect();
    let quotient = Quotient::new(dag, &node_to_macro);
    Macro {
        motif_ids: order.iter().map(|&(_, f)| p.motif[f as usize]).collect(),
        node_to_macro,
        quotient,
    }
}

/// (frag_of, pos, motif, offsets, nodes) of a [`Partition`].
pub(crate) type PartitionArrays<'a> = (&'a [u32], &'a [u32], &'a [u128], &'a [u32], &'a [u32]);

/// A partition as its flat arrays and back, so [`crate::shard`] can keep a
/// shard's state on disk between rounds (streamed mining) without replaying
/// the levels decided so far. Kept apart from the engine above: it only moves
/// the fields, and checks that arrays read back describe a partition.
impl Partition {
    /// (frag_of, pos, motif, offsets, nodes).
    pub(crate) fn arrays(&self) -> PartitionArrays<'_> {
        (
            &self.frag_of,
            &self.pos,
            &self.motif,
            &self.offsets,
            &self.nodes,
        )
    }

    /// The partition of a graph of `num_nodes` nodes that [`Partition::arrays`]
    /// gave, or None when the arrays do not describe one (every node in exactly
    /// one fragment, at its position).
    pub(crate) fn from_arrays(
        num_nodes: usize,
        frag_of: Vec<u32>,
        pos: Vec<u32>,
        motif: Vec<u128>,
        offsets: Vec<u32>,
        nodes: Vec<u32>,
    ) -> Option<Partition> {
        let sizes_ok = frag_of.len() == num_nodes
            && pos.len() == num_nodes
            && nodes.len() == num_nodes
            && offsets.len() == motif.len() + 1
            && offsets.first() == Some(&0)
            && offsets.last().map(|&o| o as usize) == Some(num_nodes)
            && offsets.windows(2).all(|w| w[0] < w[1]);
        if !sizes_ok {
            return None;
        }
        let placed = (0..num_nodes).all(|v| {
            let f = frag_of[v] as usize;
            f < motif.len() && {
                let at = offsets[f] as usize + pos[v] as usize;
                at < offsets[f + 1] as usize && nodes[at] as usize == v
            }
        });
        placed.then_some(Partition {
            frag_of,
            pos,
            motif,
            offsets,
            nodes,
        })
    }
}
