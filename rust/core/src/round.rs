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
//!    application are dropped and the round re-applied without them, unless
//!    none of them claimed a merge ([`crate::shard::settle`]).
//!
//! Fragments of a graph's first partition are numbered by the canonical rank of
//! their node ([`crate::order`]) and every tie below is broken by fragment index,
//! so no decision depends on how the input numbered its nodes.
//!
//! This module owns one round on one graph (counts, application, the key cache);
//! [`crate::candidate`] finds the candidates and interns their keys;
//! [`crate::shard`] drives rounds over many graphs and shards.
//! [`Miner::apply`] replays the recorded rules on new graphs with the same code,
//! so applying a mined vocabulary to its own corpus reproduces the mined macro
//! graphs exactly. Nothing depends on thread count or input order: ids are
//! canonical, counts are sums, and every ranking is by (count, id).

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use rayon::prelude::*;

use crate::candidate::{self, Candidate, Candidates, Crossing, Groups, Interned, FRESH};
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
    /// Dense index of `id` among the union ids seen (unions of different keys
    /// can share an id), to group candidates by id with a `u32`.
    class: u32,
    /// Where the union's inverse order starts in [`Miner::inv`].
    inv_at: u32,
}

/// A partition of one graph into fragments: each fragment's motif and size,
/// and how its nodes got there: a node-level partition ([`Base`]) and the
/// merge steps taken since, shared with the partitions of earlier rounds.
/// Nothing here is rewritten per node in a round: the crossing edges that the
/// next candidate search needs are carried from round to round by
/// [`Miner::apply_rules`] (`rows`), and the fragment of every node is composed
/// from the steps once, at the end ([`Partition::frag_of_nodes`]).
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    pub(crate) motif: Vec<u128>,
    /// Nodes in each fragment.
    size: Vec<u32>,
    base: Arc<Base>,
    steps: Vec<Arc<Step>>,
    /// The crossing edges of every fragment, when the merge that made this
    /// partition carried them over from the last round's.
    rows: Option<Vec<Crossing>>,
}

/// A node-level partition, stored flat (no allocation per fragment): fragment
/// `f` holds `nodes[offsets[f]..offsets[f + 1]]`, in canonical position order;
/// node `v` is in fragment `frag_of[v]` at position `pos[v]`. A graph's first
/// partition (a node per fragment) keeps neither offsets nor positions.
#[derive(Debug)]
pub(crate) struct Base {
    pub(crate) frag_of: Vec<u32>,
    /// None: every position is 0.
    pos: Option<Vec<u32>>,
    /// None: fragment `f` is `nodes[f]` alone.
    offsets: Option<Vec<u32>>,
    nodes: Vec<u32>,
}

impl Base {
    pub(crate) fn nodes_of(&self, f: u32) -> &[u32] {
        let f = f as usize;
        match &self.offsets {
            Some(o) => &self.nodes[o[f] as usize..o[f + 1] as usize],
            None => &self.nodes[f..f + 1],
        }
    }

    /// True for a graph's first partition ([`Miner::initial`]): fragment `f`
    /// is the node of canonical rank `f` alone, so fragment order is ordered
    /// by depth, a topological order.
    pub(crate) fn by_rank(&self) -> bool {
        self.offsets.is_none()
    }

    #[inline]
    pub(crate) fn pos(&self, v: u32) -> u32 {
        self.pos.as_ref().map_or(0, |p| p[v as usize])
    }

    /// The base of `frag_of` and `pos` (node to fragment and position) over
    /// fragments of the given sizes, which they fill exactly.
    fn place(frag_of: Vec<u32>, pos: Vec<u32>, size: &[u32]) -> Base {
        let mut offsets = Vec::with_capacity(size.len() + 1);
        offsets.push(0u32);
        for &s in size {
            offsets.push(offsets[offsets.len() - 1] + s);
        }
        let mut nodes = vec![0u32; frag_of.len()];
        for (v, (&f, &q)) in frag_of.iter().zip(&pos).enumerate() {
            nodes[(offsets[f as usize] + q) as usize] = v as u32;
        }
        Base {
            frag_of,
            pos: Some(pos),
            offsets: Some(offsets),
            nodes,
        }
    }
}

/// One round's merges as a map from the fragments before it to those after.
#[derive(Debug)]
struct Step {
    /// The new index of each fragment.
    new_of: Vec<u32>,
    /// For a fragment in a merge, where in [`Miner::inv`] its nodes' new
    /// positions start (its union's inverse order, past the first fragment's
    /// nodes for the second); `u32::MAX` for a fragment left alone.
    inv_at: Vec<u32>,
}

impl Step {
    /// The position after this step of the node at position `q` of fragment
    /// `f` (`inv`: the miner's [`Miner::inv`]).
    #[inline]
    fn pos(&self, inv: &[u32], f: u32, q: u32) -> u32 {
        match self.inv_at[f as usize] {
            u32::MAX => q,
            at => inv[(at + q) as usize],
        }
    }
}

impl Partition {
    pub(crate) fn len(&self) -> usize {
        self.motif.len()
    }

    /// Nodes in fragment `f`.
    pub(crate) fn size(&self, f: u32) -> usize {
        self.size[f as usize] as usize
    }

    /// Nodes of the partitioned graph.
    pub(crate) fn num_nodes(&self) -> usize {
        self.base.frag_of.len()
    }

    /// The partition of a graph of `base.frag_of.len()` nodes that `base` is.
    fn flat(base: Base, motif: Vec<u128>) -> Partition {
        let size = match &base.offsets {
            Some(o) => o.windows(2).map(|w| w[1] - w[0]).collect(),
            None => vec![1; base.nodes.len()],
        };
        Partition {
            motif,
            size,
            base: Arc::new(base),
            steps: Vec::new(),
            rows: None,
        }
    }

    /// Node-level, when no merge was taken since its base.
    pub(crate) fn base(&self) -> Option<&Base> {
        self.steps.is_empty().then_some(&*self.base)
    }

    /// The crossing edges carried from the last round, if any.
    pub(crate) fn rows(&self) -> Option<&[Crossing]> {
        self.rows.as_deref()
    }

    /// The fragment of every node: the steps' maps composed over fragments,
    /// newest first (each is smaller than the one before it), then read once
    /// per node.
    pub(crate) fn frag_of_nodes(&self) -> Vec<u32> {
        let Some((last, older)) = self.steps.split_last() else {
            return self.base.frag_of.clone();
        };
        let mut map = last.new_of.clone();
        for s in older.iter().rev() {
            map = s.new_of.iter().map(|&x| map[x as usize]).collect();
        }
        self.base.frag_of.iter().map(|&f| map[f as usize]).collect()
    }
}

/// How merging chosen candidates renames the fragments of a partition.
/// Fragments keep the order of their first old fragment, so the result is
/// deterministic.
struct Renaming {
    /// The merge (index in `chosen`) each old fragment is in, or `u32::MAX`.
    partner: Vec<u32>,
    /// The new index of each old fragment.
    new_of: Vec<u32>,
    num_new: usize,
}

/// The merge (index in `chosen`) each of `num_frags` fragments is in, or
/// `u32::MAX`: [`Renaming::partner`].
fn partners(num_frags: usize, cands: &[Candidate], chosen: &[u32]) -> Vec<u32> {
    let mut partner: Vec<u32> = vec![u32::MAX; num_frags];
    for (k, &i) in chosen.iter().enumerate() {
        partner[cands[i as usize].fa as usize] = k as u32;
        partner[cands[i as usize].fb as usize] = k as u32;
    }
    partner
}

impl Renaming {
    fn new(num_frags: usize, cands: &[Candidate], chosen: &[u32]) -> Renaming {
        let partner = partners(num_frags, cands, chosen);
        let mut new_of = vec![0u32; num_frags];
        let mut next = 0u32;
        for f in 0..num_frags {
            match partner[f] {
                u32::MAX => {
                    new_of[f] = next;
                    next += 1;
                }
                k => {
                    let c = &cands[chosen[k as usize] as usize];
                    let first = c.fa.min(c.fb) as usize;
                    if f == first {
                        new_of[f] = next;
                        next += 1;
                    } else {
                        new_of[f] = new_of[first];
                    }
                }
            }
        }
        Renaming {
            partner,
            new_of,
            num_new: next as usize,
        }
    }
}

/// Merges that cannot close a quotient cycle, whatever else is merged with them.
///
/// Lift a cycle of the quotient to the fragment graph: one fragment edge per
/// quotient edge, joined inside each merged pair `a -> b` either forwards
/// (`a` to `b`, which is an edge) or backwards (arriving at `b`, leaving from
/// `a`). The fragment graph is a DAG, so some join is backwards. There the
/// edge arriving at `b` comes from outside the pair and the edge leaving `a`
/// goes outside it: impossible when `b`'s only predecessor or `a`'s only
/// successor is the other. A pass whose merges are all of this kind needs no
/// cycle check (chains of single-input, single-output layers mostly are).
struct SafeMerges<'a> {
    cands: &'a Candidates,
    /// Distinct predecessors of each fragment, counted on first need.
    indeg: Option<Vec<u32>>,
}

impl<'a> SafeMerges<'a> {
    fn new(cands: &'a Candidates) -> Self {
        SafeMerges { cands, indeg: None }
    }

    fn is_safe(&mut self, c: &Candidate) -> bool {
        let off = &self.cands.succ_off;
        if off[c.fa as usize + 1] - off[c.fa as usize] == 1 {
            return true; // rows hold distinct successors: `fb` is the only one
        }
        let succ = &self.cands.succ;
        let indeg = self.indeg.get_or_insert_with(|| {
            let mut d = vec![0u32; off.len() - 1];
            for &b in succ {
                d[b as usize] += 1;
            }
            d
        });
        indeg[c.fb as usize] == 1
    }
}

/// The rank of every rule of a pass, by union class ([`Miner::rule_ranks`]).
pub(crate) struct RuleRanks {
    /// Rank of the rule of each class, `u32::MAX` for a class not ruled.
    of_class: Vec<u32>,
}

/// What [`Miner::apply_rules`] made of one graph.
pub(crate) struct Applied {
    /// The partition after the merges kept.
    pub(crate) part: Partition,
    /// The candidate index of every merge kept, in rank order.
    pub(crate) kept: Vec<u32>,
    /// Union id of every merge claimed by the greedy pass and undone because
    /// it closed a cycle.
    pub(crate) undone: Vec<u128>,
}

/// The mining engine: the motif forms seen so far, the cache of candidate
/// unions and the rules of every level. Kept after mining to apply the
/// vocabulary to new graphs.
#[derive(Debug, Default)]
pub struct Miner {
    op_labels: Vec<u64>,
    forms: HashMap<u128, Form>,
    /// Every candidate key seen; key `i`'s union is `union_list[i]`. Boxed:
    /// the engine that holds a miner stays small.
    keys: Box<Interned>,
    union_list: Vec<Union>,
    /// The inverse orders of every union, one after another: `inv[at + l]` is
    /// the canonical position in the union whose `inv_at` is `at` of node `l`
    /// of the concatenation `A.nodes ++ B.nodes` it merges.
    inv: Vec<u32>,
    classes: HashMap<u128, u32>,
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

    /// Candidate unions interned so far (a [`Candidate::union`] indexes them).
    pub(crate) fn num_unions(&self) -> usize {
        self.union_list.len()
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
        // the ops in use, ascending: marked in a table of the labelled ops
        let mut used = vec![false; self.op_labels.len()];
        for g in graphs {
            for &op in g.ops() {
                match used.get_mut(op as usize) {
                    Some(u) => *u = true,
                    None => {
                        return Err(Error::InvalidArgument(format!(
                            "op id {op} has no label ({} labels)",
                            self.op_labels.len()
                        )))
                    }
                }
            }
        }
        for op in (0..used.len() as u32).filter(|&op| used[op as usize]) {
            self.single_id(op)?;
        }
        // each op's motif by op id (ops not in use: never read)
        let single: Vec<u128> = (0..used.len() as u32)
            .map(|op| self.single.get(&op).copied().unwrap_or_default())
            .collect();
        let labels = &self.op_labels;
        graphs
            .par_iter()
            .map(|g| {
                let rank = canonical_ranks(g, labels, ctl)?;
                let mut nodes = vec![0u32; g.num_nodes()];
                for (v, &r) in rank.iter().enumerate() {
                    nodes[r as usize] = v as u32;
                }
                let ops = g.ops();
                let motif = nodes
                    .iter()
                    .map(|&v| single[ops[v as usize] as usize])
                    .collect();
                let base = Base {
                    frag_of: rank,
                    pos: None,
                    offsets: None,
                    nodes,
                };
                Ok(Partition::flat(base, motif))
            })
            .collect()
    }

    /// This graph's candidate merges ([`crate::candidate::find`]), their keys
    /// looked up among those this miner has interned.
    pub(crate) fn candidates(
        &self,
        dag: &Dag,
        p: &Partition,
        max_nodes: usize,
        ctl: &Control,
    ) -> Result<Candidates> {
        if p.rows().is_none() && p.base().is_none() {
            // merged since its base without carrying crossing edges (a shard
            // resumed with its candidates): read them off the nodes again
            let flat = self.flatten(p);
            return candidate::find(dag, &flat, max_nodes, &self.keys, ctl);
        }
        candidate::find(dag, p, max_nodes, &self.keys, ctl)
    }

    /// `p` node-level: every node's fragment and position after the steps
    /// since its base, applied in order.
    pub(crate) fn flatten(&self, p: &Partition) -> Partition {
        if p.steps.is_empty() && p.base.offsets.is_some() {
            return Partition {
                rows: None,
                ..p.clone()
            };
        }
        let (base, inv) = (&p.base, &self.inv);
        let (frag_of, pos): (Vec<u32>, Vec<u32>) = base
            .frag_of
            .par_iter()
            .enumerate()
            .map(|(v, &f)| {
                let q = base.pos(v as u32);
                p.steps
                    .iter()
                    .fold((f, q), |(f, q), s| (s.new_of[f as usize], s.pos(inv, f, q)))
            })
            .unzip();
        Partition::flat(Base::place(frag_of, pos, &p.size), p.motif.clone())
    }

    /// The union id and exact key of union `u` (a resolved [`Candidate::union`]).
    pub(crate) fn union(&self, u: u32) -> (u128, &Key) {
        (self.union_list[u as usize].id, self.keys.key(u))
    }

    fn union_of(&self, key: &Key, ctl: &Control) -> Result<(u128, Vec<u32>, Form)> {
        let (fa, fb) = (&self.forms[&key.a], &self.forms[&key.b]);
        let na = fa.ops.len() as u32;
        let ops: Vec<u32> = fa.ops.iter().chain(&fb.ops).copied().collect();
        let mut edges: Vec<(u32, u32)> = fa.edges.clone();
        edges.extend(fb.edges.iter().map(|&(s, d)| (s + na, d + na)));
        edges.extend(key.cross.iter().map(|&(s, d)| (s, d + na)));
        let (c, form) = Form::canonical(&ops, &self.op_labels, &edges, ctl)?;
        let mut inv = vec![0u32; c.order.len()];
        for (q, &l) in c.order.iter().enumerate() {
            inv[l as usize] = q as u32;
        }
        Ok((c.id, inv, form))
    }

    /// Canonicalises every key not interned before (each once, in parallel),
    /// interns it, and points every candidate at its union.
    pub(crate) fn resolve(&mut self, cands: &mut [Candidates], ctl: &Control) -> Result<()> {
        // The fresh keys of every graph, each once; slots[g][k] names graph g's
        // k-th fresh key in that list.
        let mut todo = Interned::default();
        let slots: Vec<Vec<u32>> = cands
            .iter_mut()
            .map(|c| {
                std::mem::take(&mut c.fresh)
                    .into_iter()
                    .map(|k| todo.intern(k))
                    .collect()
            })
            .collect();
        if todo.len() == 0 {
            return Ok(());
        }
        ctl.check()?;
        let keys = todo.into_keys();
        let this = &*self;
        let solved: Vec<(u128, Vec<u32>, Form)> = keys
            .par_iter()
            .map(|k| {
                ctl.check()?;
                this.union_of(k, ctl)
            })
            .collect::<Result<_>>()?;
        let base = self.union_list.len() as u32;
        for (k, (id, inv, form)) in keys.into_iter().zip(solved) {
            let inv_at = self.inv.len() as u32;
            self.inv.extend_from_slice(&inv);
            self.forms.entry(id).or_insert(form);
            let next = self.classes.len() as u32;
            let class = *self.classes.entry(id).or_insert(next);
            let i = self.keys.intern(k);
            debug_assert_eq!(
                i as usize,
                self.union_list.len(),
                "a fresh key was interned"
            );
            self.union_list.push(Union { id, class, inv_at });
        }
        cands.par_iter_mut().zip(&slots).for_each(|(c, s)| {
            for x in c.list.iter_mut().filter(|x| x.union & FRESH != 0) {
                x.union = base + s[(x.union & !FRESH) as usize];
            }
        });
        Ok(())
    }

    /// The rank of each of `rules` (best first) by union class, for
    /// [`Miner::apply_rules`]: an array lookup per candidate instead of a hash
    /// of its 128-bit id. Built after [`Miner::resolve`], when every candidate's
    /// union has its class (a rule no candidate has yet matches none).
    pub(crate) fn rule_ranks(&self, rules: &[u128]) -> RuleRanks {
        let mut of_class = vec![u32::MAX; self.classes.len()];
        for (r, id) in rules.iter().enumerate() {
            if let Some(&c) = self.classes.get(id) {
                of_class[c as usize] = r as u32;
            }
        }
        RuleRanks { of_class }
    }

    /// Applies ranked rules to one graph: greedy, non-overlapping, rank order,
    /// then undoes merges on quotient cycles. Returns the new partition, the
    /// (union id, candidate index) of every merge kept and the union id of every
    /// merge the greedy pass claimed and the cycle check undid (with repeats).
    ///
    /// A rule none of whose candidates the greedy pass claimed (neither kept
    /// nor undone) changed nothing here: it marked no fragment used, so the
    /// same rules without it claim the same merges in the same order and end
    /// in the same partition. [`crate::shard::settle`] relies on this.
    pub(crate) fn apply_rules(
        &self,
        p: &Partition,
        cands: &Candidates,
        rank: &RuleRanks,
        ctl: &Control,
    ) -> Result<Applied> {
        let list = &cands.list;
        // Rank order, then (lower, higher) fragment: the candidates of each
        // ruled class (grouped in list order, which is (fa, fb) order), each
        // group sorted by span unless counting found it in that order already.
        // A rule is one class, so its group is the class's group when counting
        // grouped them.
        let span = |i: &u32| {
            let c = &list[*i as usize];
            (c.fa.min(c.fb) as u64) << 32 | c.fa.max(c.fb) as u64
        };
        let regrouped;
        let ((classes, offsets, values), in_order) = match &cands.by_class {
            Some((groups, in_order)) => (groups, Some(in_order)),
            None => {
                regrouped = group_stable(
                    || {
                        list.iter().enumerate().filter_map(|(i, c)| {
                            let class = self.union_list[c.union as usize].class;
                            let r = rank.of_class[class as usize];
                            (r != u32::MAX).then_some((class, i as u32))
                        })
                    },
                    self.classes.len(),
                    list.len(),
                );
                (&regrouped, None)
            }
        };
        // (rank, group) of every ruled class, best rank first
        let mut ruled: Vec<(u32, usize)> = classes
            .iter()
            .enumerate()
            .filter_map(|(g, &c)| {
                let r = rank.of_class[c as usize];
                (r != u32::MAX).then_some((r, g))
            })
            .collect();
        ruled.sort_unstable();
        let mut used = vec![false; p.len()];
        // at most one merge per two fragments
        let ruled_len: usize = ruled
            .iter()
            .map(|&(_, g)| (offsets[g + 1] - offsets[g]) as usize)
            .sum();
        let mut chosen: Vec<u32> = Vec::with_capacity(ruled_len.min(p.len() / 2));
        let mut sorted: Vec<u32> = Vec::new();
        for &(_, g) in &ruled {
            let mut group = &values[offsets[g] as usize..offsets[g + 1] as usize];
            let ordered = match in_order {
                Some(o) => o[g],
                None => group.is_sorted_by_key(span),
            };
            if !ordered {
                sorted.clear();
                sorted.extend_from_slice(group);
                sorted.sort_unstable_by_key(span); // distinct keys: deterministic
                group = &sorted;
            }
            for &i in group {
                let c = &list[i as usize];
                if !used[c.fa as usize] && !used[c.fb as usize] {
                    used[c.fa as usize] = true;
                    used[c.fb as usize] = true;
                    chosen.push(i);
                }
            }
        }
        drop((sorted, used));
        let (chosen, undone, renamed) = undo_cycles(cands, chosen, p.len(), ctl)?;
        // the merge renames fragments in its own pass; a renaming the cycle
        // check made already lends it the partners
        let partner = match renamed {
            Some(r) => r.partner,
            None => partners(p.len(), list, &chosen),
        };
        let next = self.merge(p, cands, &chosen, partner);
        Ok(Applied {
            part: next,
            undone: undone.iter().map(|&i| self.union_id(cands, i)).collect(),
            kept: chosen,
        })
    }

    /// The union id of candidate `i` of `cands` (resolved).
    pub(crate) fn union_id(&self, cands: &Candidates, i: u32) -> u128 {
        self.union_list[cands.list[i as usize].union as usize].id
    }

    /// The partition after merging the `chosen` candidates of `cands` (`partner`:
    /// each fragment's merge, as [`Renaming::partner`]), renamed as
    /// [`Renaming::new`] does: new fragments keep the order of their first old
    /// fragment. The
    /// crossing edges of `p` (carried, or found by the candidate search) are
    /// carried over: renamed, moved to their new positions, those inside a
    /// merge dropped, each row sorted as the search sorts it. Rows are built
    /// by chunks of new fragments in parallel.
    fn merge(
        &self,
        p: &Partition,
        cands: &Candidates,
        chosen: &[u32],
        partner: Vec<u32>,
    ) -> Partition {
        let list = &cands.list;
        let num_new = p.len() - chosen.len();
        let mut inv_at = vec![u32::MAX; p.len()];
        let mut new_of = vec![0u32; p.len()];
        // each new fragment's old fragments (the second u32::MAX when unmerged)
        let mut olds: Vec<[u32; 2]> = Vec::with_capacity(num_new);
        let mut motif: Vec<u128> = Vec::with_capacity(num_new);
        let mut size: Vec<u32> = Vec::with_capacity(num_new);
        for f in 0..p.len() as u32 {
            match partner[f as usize] {
                u32::MAX => {
                    new_of[f as usize] = olds.len() as u32;
                    olds.push([f, u32::MAX]);
                    motif.push(p.motif[f as usize]);
                    size.push(p.size[f as usize]);
                }
                k => {
                    let c = &list[chosen[k as usize] as usize];
                    let first = c.fa.min(c.fb);
                    if f != first {
                        new_of[f as usize] = new_of[first as usize];
                        continue;
                    }
                    new_of[f as usize] = olds.len() as u32;
                    let u = &self.union_list[c.union as usize];
                    let na = p.size[c.fa as usize];
                    (inv_at[c.fa as usize], inv_at[c.fb as usize]) = (u.inv_at, u.inv_at + na);
                    olds.push([c.fa, c.fb]);
                    motif.push(u.id);
                    size.push(na + p.size[c.fb as usize]);
                }
            }
        }
        drop(partner);
        debug_assert_eq!(olds.len(), num_new);
        let step = Step { new_of, inv_at };
        let rows = p
            .rows()
            .or(cands.cross.as_deref())
            .map(|old| self.carry(old, &step, &olds));
        let mut steps = p.steps.clone();
        steps.push(Arc::new(step));
        Partition {
            motif,
            size,
            base: p.base.clone(),
            steps,
            rows,
        }
    }

    /// The crossing edges after `step` of the new fragments whose old ones are
    /// `olds`, from those before it (`old`).
    fn carry(&self, old: &[Crossing], step: &Step, olds: &[[u32; 2]]) -> Vec<Crossing> {
        let inv = &self.inv;
        let total: usize = old.iter().map(|c| c.edges.len()).sum();
        let num_new = olds.len();
        (0..num_new.div_ceil(candidate::CHUNK))
            .into_par_iter()
            .map(|c| {
                let xs = c * candidate::CHUNK..((c + 1) * candidate::CHUNK).min(num_new);
                let mut edges = Vec::with_capacity(total * xs.len() / num_new + 16);
                let mut off = Vec::with_capacity(xs.len() + 1);
                off.push(0u32);
                for x in xs {
                    let start = edges.len();
                    for f in olds[x] {
                        if f == u32::MAX {
                            break;
                        }
                        for &(fb, qa, qb) in candidate::row_of(old, f) {
                            let y = step.new_of[fb as usize];
                            if y != x as u32 {
                                let qa = step.pos(inv, f, qa as u32) as u16;
                                let qb = step.pos(inv, fb, qb as u32) as u16;
                                edges.push((y, qa, qb));
                            }
                        }
                    }
                    let row = &mut edges[start..];
                    if !row.is_sorted() {
                        row.sort_unstable();
                    }
                    off.push(edges.len() as u32);
                }
                Crossing { edges, off }
            })
            .collect()
    }

    /// Greedy non-overlapping occurrence count of each union id in one graph:
    /// occurrences of one id are taken in (source, target) fragment order.
    /// The grouping by class is kept in `cands` for [`Miner::apply_rules`].
    pub(crate) fn count(&self, cands: &mut Candidates, num_frags: usize) -> HashMap<u128, u64> {
        let list = &cands.list;
        // Grouped by id class, each group in (fa, fb) order.
        let (classes, groups, occ) = group_stable(
            || {
                list.iter()
                    .enumerate()
                    .map(|(i, c)| (self.union_list[c.union as usize].class, i as u32))
            },
            self.classes.len(),
            list.len(),
        );
        // Each class is counted on its own (a fragment is stamped with the
        // class that claimed it), so classes can be counted in parallel, a run
        // of classes per task with a stamp array of its own: the counts do not
        // depend on how the classes are cut.
        let count_run = |stamp: &mut Vec<u32>, run: std::ops::Range<usize>| {
            run.map(|g| {
                let class = classes[g];
                let group = &occ[groups[g] as usize..groups[g + 1] as usize];
                let mut n = 0u64;
                // whether the group is in (lower, higher) fragment order too
                let (mut last, mut in_order) = (0u64, true);
                for &i in group {
                    let c = &list[i as usize];
                    let (a, b) = (c.fa as usize, c.fb as usize);
                    let span = (a.min(b) as u64) << 32 | a.max(b) as u64;
                    in_order &= span >= last;
                    last = span;
                    if stamp[a] != class && stamp[b] != class {
                        stamp[a] = class;
                        stamp[b] = class;
                        n += 1;
                    }
                }
                (self.union_id(cands, group[0]), n, in_order)
            })
            .collect::<Vec<_>>()
        };
        let runs = class_runs(&groups, rayon::current_num_threads());
        let counted: Vec<Vec<(u128, u64, bool)>> = if runs.len() > 2 {
            runs.par_windows(2)
                .map_init(
                    || vec![u32::MAX; num_frags],
                    |stamp, w| count_run(stamp, w[0]..w[1]),
                )
                .collect()
        } else {
            vec![count_run(&mut vec![u32::MAX; num_frags], 0..classes.len())]
        };
        let mut in_order = Vec::with_capacity(classes.len());
        let counts = counted
            .into_iter()
            .flatten()
            .map(|(id, n, sorted)| {
                in_order.push(sorted);
                (id, n)
            })
            .collect();
        cands.by_class = Some(((classes, groups, occ), in_order));
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
            let this = &*self;
            let mut cands: Vec<Candidates> = graphs
                .par_iter()
                .zip(&parts)
                .map(|(g, p)| this.candidates(g, p, max_nodes, ctl))
                .collect::<Result<_>>()?;
            self.resolve(&mut cands, ctl)?;
            let rank = self.rule_ranks(&self.rules[l]);
            let this = &*self;
            parts = parts
                .par_iter()
                .zip(&cands)
                .map(|(p, c)| Ok(this.apply_rules(p, c, &rank, ctl)?.part))
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

/// Below this many candidates a graph's classes are counted on one thread.
const PAR_COUNT_MIN: usize = 1 << 16;

/// Where to cut the groups at `offsets` (one group per class) into about
/// `4 * threads` runs of consecutive groups of about equal size, for counting
/// in parallel: run `r` is groups `cuts[r]..cuts[r + 1]`. One run (`[0, n]`)
/// for few candidates or one thread.
fn class_runs(offsets: &[u32], threads: usize) -> Vec<usize> {
    let n = offsets.len() - 1;
    let total = offsets[n] as usize;
    if threads < 2 || total < PAR_COUNT_MIN {
        return vec![0, n];
    }
    let want = 4 * threads;
    let mut cuts = vec![0];
    for r in 1..want {
        // the first group that starts at or after r/want of the candidates
        let at = (total * r / want) as u32;
        let g = offsets.partition_point(|&o| o < at).min(n);
        if g > *cuts.last().expect("non-empty") {
            cuts.push(g);
        }
    }
    if *cuts.last().expect("non-empty") != n {
        cuts.push(n);
    }
    cuts
}

/// Groups `(key, value)` pairs by key without sorting: the distinct keys in
/// order of first appearance, group offsets, and the values of group `g` in
/// input order at `values[offsets[g]..offsets[g + 1]]`.
/// Keys are below `num_keys`; about `len` pairs come. `items` is called twice,
/// to count the groups and to fill them (a counting sort, no buffer of the
/// pairs). A key's group is looked up in a table of `num_keys` slots when that
/// is not much more than the pairs, else in a hash map (many graphs of a few
/// hundred candidates each, against a corpus-wide key space).
fn group_stable<I>(items: impl Fn() -> I, num_keys: usize, len: usize) -> Groups
where
    I: Iterator<Item = (u32, u32)>,
{
    let mut keys: Vec<u32> = Vec::new();
    let mut offsets: Vec<u32> = vec![0];
    let mut tag = |k: u32, g: &mut u32| {
        if *g == u32::MAX {
            keys.push(k);
            offsets.push(0);
            *g = keys.len() as u32 - 1;
        }
        offsets[*g as usize + 1] += 1;
    };
    let table = num_keys <= 4 * len + 64;
    let mut local = vec![u32::MAX; if table { num_keys } else { 0 }];
    let mut map: HashMap<u32, u32> = HashMap::default();
    if table {
        items().for_each(|(k, _)| tag(k, &mut local[k as usize]));
    } else {
        items().for_each(|(k, _)| tag(k, map.entry(k).or_insert(u32::MAX)));
    }
    for g in 0..keys.len() {
        offsets[g + 1] += offsets[g];
    }
    let mut fill = offsets.clone();
    let mut values = vec![0u32; offsets[keys.len()] as usize];
    let mut put = |g: u32, v: u32| {
        values[fill[g as usize] as usize] = v;
        fill[g as usize] += 1;
    };
    if table {
        items().for_each(|(k, v)| put(local[k as usize], v));
    } else {
        items().for_each(|(k, v)| put(map[&k], v));
    }
    (keys, offsets, values)
}

/// The cyclic core of the fragment graph `succ` (a DAG, fragment `a`'s
/// successors at `succ[off[a]..off[a + 1]]`) with fragment `a` renamed
/// `new_of[a]` (in `0..num_new`, at most two fragments per name), cut into
/// weakly connected components: a component index per new fragment
/// (`u32::MAX` outside the core) and the number of components; `None` when the
/// renamed graph is acyclic. The renamed graph is the quotient the merges
/// make, so these are the sets [`Quotient::cyclic_components`] gives for it
/// (numbered otherwise), found without contracting the nodes or sorting.
///
/// Kahn's algorithm removes sources until none is left (all of the graph when
/// it is acyclic); what stays, with sinks then removed the same way, is the
/// core: every part on a cycle, each with a successor and a predecessor there.
fn cyclic_components(
    off: &[u32],
    succ: &[u32],
    new_of: &[u32],
    num_new: usize,
) -> Option<(Vec<u32>, usize)> {
    let row = |a: u32| &succ[off[a as usize] as usize..off[a as usize + 1] as usize];
    let mut members = vec![[u32::MAX; 2]; num_new];
    for (a, &x) in new_of.iter().enumerate() {
        let m = &mut members[x as usize];
        m[(m[0] != u32::MAX) as usize] = a as u32;
    }
    // the renamed successors of new fragment x, with repeats, self-loops left out
    let next = |x: u32| {
        members[x as usize]
            .into_iter()
            .filter(|&a| a != u32::MAX)
            .flat_map(move |a| row(a).iter().map(|&b| new_of[b as usize]))
            .filter(move |&y| y != x)
    };
    // plain loops on the hot path: every graph of every pass comes here
    let mut indeg = vec![0u32; num_new];
    for (a, &x) in new_of.iter().enumerate() {
        for &b in row(a as u32) {
            let y = new_of[b as usize];
            if y != x {
                indeg[y as usize] += 1;
            }
        }
    }
    let mut queue: Vec<u32> = (0..num_new as u32)
        .filter(|&x| indeg[x as usize] == 0)
        .collect();
    let mut head = 0;
    while head < queue.len() {
        let x = queue[head];
        head += 1;
        for &a in &members[x as usize] {
            if a == u32::MAX {
                continue;
            }
            for &b in row(a) {
                let y = new_of[b as usize];
                if y != x {
                    indeg[y as usize] -= 1;
                    if indeg[y as usize] == 0 {
                        queue.push(y);
                    }
                }
            }
        }
    }
    if queue.len() == num_new {
        return None;
    }
    // what Kahn's algorithm left: indeg > 0. Its edges, reversed, to remove sinks.
    let mut alive: Vec<bool> = indeg.iter().map(|&d| d > 0).collect();
    drop(queue);
    let left: Vec<u32> = (0..num_new as u32).filter(|&x| alive[x as usize]).collect();
    // predecessors inside what is left, in compressed rows by a counting pass
    let mut outdeg = vec![0u32; num_new];
    let mut pred_off = vec![0u32; num_new + 1];
    for &x in &left {
        for y in next(x).filter(|&y| alive[y as usize]) {
            outdeg[x as usize] += 1;
            pred_off[y as usize + 1] += 1;
        }
    }
    for i in 0..num_new {
        pred_off[i + 1] += pred_off[i];
    }
    let mut fill = pred_off.clone();
    let mut pred = vec![0u32; pred_off[num_new] as usize];
    for &x in &left {
        for y in next(x).filter(|&y| alive[y as usize]) {
            pred[fill[y as usize] as usize] = x;
            fill[y as usize] += 1;
        }
    }
    drop(fill);
    let pred_row = |y: u32| {
        pred[pred_off[y as usize] as usize..pred_off[y as usize + 1] as usize]
            .iter()
            .copied()
    };
    let mut sinks: Vec<u32> = left
        .iter()
        .copied()
        .filter(|&x| outdeg[x as usize] == 0)
        .collect();
    while let Some(y) = sinks.pop() {
        alive[y as usize] = false;
        for x in pred_row(y) {
            if alive[x as usize] {
                outdeg[x as usize] -= 1;
                if outdeg[x as usize] == 0 {
                    sinks.push(x);
                }
            }
        }
    }
    // weakly connected components of the core
    let mut parent: Vec<u32> = (0..num_new as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for &y in &left {
        for x in pred_row(y) {
            if !(alive[x as usize] && alive[y as usize]) {
                continue;
            }
            let (rx, ry) = (find(&mut parent, x), find(&mut parent, y));
            if rx != ry {
                parent[rx.max(ry) as usize] = rx.min(ry);
            }
        }
    }
    let mut comp_of = vec![u32::MAX; num_new];
    let mut num_comps = 0;
    for &x in &left {
        if alive[x as usize] {
            let r = find(&mut parent, x) as usize;
            if comp_of[r] == u32::MAX {
                comp_of[r] = num_comps;
                num_comps += 1;
            }
            comp_of[x as usize] = comp_of[r];
        }
    }
    Some((comp_of, num_comps as usize))
}

/// The merges of `chosen` (candidate indices, rank order) that stay once those
/// that close quotient cycles are undone: while the quotient has a cycle, in
/// every weakly connected component of its core (what is left after removing
/// sources, then sinks, until none is left: every part on a cycle or on a path
/// between two) the worst-ranked merge is undone.
///
/// Undoing only splits a part, so the core only shrinks, and components never
/// reach each other: each evolves alone. So the same merges go when merges are
/// visited worst first, each undone when its part is still in the core, and
/// the core is kept by peeling (a part with no predecessor or no successor in
/// it leaves it, which may make its neighbours leave). A merge whose part has
/// left the core never comes back to it. The core is found once; each undo
/// costs the edges of the parts it splits or peels, not a pass over the graph.
///
/// Returns the merges kept, those undone (rank order), and the renaming of
/// the merges kept when it had to make it and kept them all (the caller's
/// next step needs it).
fn undo_cycles(
    cands: &Candidates,
    mut chosen: Vec<u32>,
    num_frags: usize,
    ctl: &Control,
) -> Result<(Vec<u32>, Vec<u32>, Option<Renaming>)> {
    let list = &cands.list;
    let mut safe = SafeMerges::new(cands);
    if chosen.iter().all(|&i| safe.is_safe(&list[i as usize])) {
        return Ok((chosen, Vec::new(), None));
    }
    let (off, succ) = (&cands.succ_off, &cands.succ);
    let r = Renaming::new(num_frags, list, &chosen);
    let Some((comp_of, _)) = cyclic_components(off, succ, &r.new_of, r.num_new) else {
        return Ok((chosen, Vec::new(), Some(r)));
    };
    ctl.check()?;
    let row = |a: u32| &succ[off[a as usize] as usize..off[a as usize + 1] as usize];
    // Parts are named by their first fragment; `mate` is the other one.
    let mut part: Vec<u32> = (0..num_frags as u32).collect();
    let mut mate = vec![u32::MAX; num_frags];
    for &i in &chosen {
        let c = &list[i as usize];
        let first = c.fa.min(c.fb);
        (part[c.fa as usize], part[c.fb as usize]) = (first, first);
        (mate[c.fa as usize], mate[c.fb as usize]) = (c.fb, c.fa);
    }
    let mut core = vec![false; num_frags];
    for f in 0..num_frags {
        if comp_of[r.new_of[f] as usize] != u32::MAX {
            core[part[f] as usize] = true;
        }
    }
    drop((r, comp_of));
    // predecessor rows of the fragment graph, by a counting pass
    let mut pred_off = vec![0u32; num_frags + 1];
    for &b in succ {
        pred_off[b as usize + 1] += 1;
    }
    for i in 0..num_frags {
        pred_off[i + 1] += pred_off[i];
    }
    let mut fill = pred_off.clone();
    let mut pred = vec![0u32; succ.len()];
    for a in 0..num_frags as u32 {
        for &b in row(a) {
            pred[fill[b as usize] as usize] = a;
            fill[b as usize] += 1;
        }
    }
    drop(fill);
    let pred_row = |b: u32| &pred[pred_off[b as usize] as usize..pred_off[b as usize + 1] as usize];
    // Edges into and out of each part of the core from other parts of it.
    let mut ins = vec![0u32; num_frags];
    let mut outs = vec![0u32; num_frags];
    for a in 0..num_frags as u32 {
        let x = part[a as usize];
        if core[x as usize] {
            for &b in row(a) {
                let y = part[b as usize];
                if y != x && core[y as usize] {
                    outs[x as usize] += 1;
                    ins[y as usize] += 1;
                }
            }
        }
    }
    let mut undone = vec![false; chosen.len()];
    let mut peel: Vec<u32> = Vec::new();
    for k in (0..chosen.len()).rev() {
        let c = &list[chosen[k] as usize];
        let (a, b) = (c.fa, c.fb);
        if !core[a.min(b) as usize] {
            continue;
        }
        if k % 1024 == 0 {
            ctl.check()?;
        }
        undone[k] = true;
        (part[a as usize], part[b as usize]) = (a, b);
        (mate[a as usize], mate[b as usize]) = (u32::MAX, u32::MAX);
        (core[a as usize], core[b as usize]) = (true, true);
        for x in [a, b] {
            let linked = |y: &&u32| part[**y as usize] != x && core[part[**y as usize] as usize];
            ins[x as usize] = pred_row(x).iter().filter(linked).count() as u32;
            outs[x as usize] = row(x).iter().filter(linked).count() as u32;
        }
        for x in [a, b] {
            if ins[x as usize] == 0 || outs[x as usize] == 0 {
                peel.push(x);
            }
        }
        while let Some(x) = peel.pop() {
            if !core[x as usize] {
                continue;
            }
            core[x as usize] = false;
            for f in [x, mate[x as usize]] {
                if f == u32::MAX {
                    continue;
                }
                for &v in row(f) {
                    let y = part[v as usize] as usize;
                    if y != x as usize && core[y] {
                        ins[y] -= 1;
                        if ins[y] == 0 {
                            peel.push(y as u32);
                        }
                    }
                }
                for &w in pred_row(f) {
                    let y = part[w as usize] as usize;
                    if y != x as usize && core[y] {
                        outs[y] -= 1;
                        if outs[y] == 0 {
                            peel.push(y as u32);
                        }
                    }
                }
            }
        }
    }
    debug_assert!(!core.iter().any(|&c| c), "a core is left without merges");
    let gone: Vec<u32> = chosen
        .iter()
        .zip(&undone)
        .filter_map(|(&i, &u)| u.then_some(i))
        .collect();
    let mut k = 0;
    chosen.retain(|_| {
        k += 1;
        !undone[k - 1]
    });
    Ok((chosen, gone, None))
}

/// The macro graph of a final partition: macro nodes ordered by smallest node.
pub(crate) fn macro_of(dag: &Dag, p: &Partition) -> Macro {
    let frag_of = p.frag_of_nodes();
    // each fragment's smallest node: the first met in node order
    let mut smallest = vec![u32::MAX; p.len()];
    for (v, &f) in frag_of.iter().enumerate() {
        if smallest[f as usize] == u32::MAX {
            smallest[f as usize] = v as u32;
        }
    }
    let mut order: Vec<(u32, u32)> = smallest
        .iter()
        .enumerate()
        .map(|(f, &v)| (v, f as u32))
        .collect();
    order.sort_unstable();
    let mut new_index = vec![0u32; p.len()];
    for (i, &(_, f)) in order.iter().enumerate() {
        new_index[f as usize] = i as u32;
    }
    let node_to_macro: Vec<u32> = frag_of.iter().map(|&f| new_index[f as usize]).collect();
    let quotient = Quotient::new(dag, &node_to_macro);
    Macro {
        motif_ids: order.iter().map(|&(_, f)| p.motif[f as usize]).collect(),
        node_to_macro,
        quotient,
    }
}

/// (motif, offsets, nodes) of a [`Partition`]: the rest follows from them.
pub(crate) type PartitionArrays<'a> = (&'a [u128], &'a [u32], &'a [u32]);

/// A partition as its flat arrays and back, so [`crate::shard`] can keep a
/// shard's state on disk between rounds (streamed mining) without replaying
/// the levels decided so far. Kept apart from the engine above: it only moves
/// the fields, and checks that arrays read back describe a partition.
impl Partition {
    /// (motif, offsets, nodes): each fragment's motif and its nodes in
    /// canonical position order; each node's fragment and position follow.
    /// Only of a node-level partition ([`Miner::flatten`]); None otherwise.
    pub(crate) fn arrays(&self) -> Option<PartitionArrays<'_>> {
        let b = self.base()?;
        Some((&self.motif, b.offsets.as_deref()?, &b.nodes))
    }

    /// The partition of a graph of `num_nodes` nodes that [`Partition::arrays`]
    /// gave, or None when the arrays do not describe one (non-empty fragments
    /// covering every node exactly once).
    pub(crate) fn from_arrays(
        num_nodes: usize,
        motif: Vec<u128>,
        offsets: Vec<u32>,
        nodes: Vec<u32>,
    ) -> Option<Partition> {
        let sizes_ok = nodes.len() == num_nodes
            && offsets.len() == motif.len() + 1
            && offsets.first() == Some(&0)
            && offsets.last().map(|&o| o as usize) == Some(num_nodes)
            && offsets
                .windows(2)
                .all(|w| w[0] < w[1] && (w[1] - w[0]) as usize <= MAX_MOTIF_NODES);
        if !sizes_ok {
            return None;
        }
        let mut frag_of = vec![u32::MAX; num_nodes];
        let mut pos = vec![0u32; num_nodes];
        for (f, w) in offsets.windows(2).enumerate() {
            for (q, &v) in nodes[w[0] as usize..w[1] as usize].iter().enumerate() {
                let slot = frag_of.get_mut(v as usize)?;
                if *slot != u32::MAX {
                    return None; // a node in two places
                }
                *slot = f as u32;
                pos[v as usize] = q as u32;
            }
        }
        // num_nodes slots filled, none twice: every node is placed
        let base = Base {
            frag_of,
            pos: Some(pos),
            offsets: Some(offsets),
            nodes,
        };
        Some(Partition::flat(base, motif))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A random DAG over `n` nodes (forward edges) and a renaming that merges
    /// disjoint pairs of its nodes, numbered by first member.
    fn case() -> impl Strategy<Value = (usize, Vec<(i64, i64)>, Vec<u32>)> {
        (2..24usize).prop_flat_map(|n| {
            (
                proptest::collection::vec((0..n as i64, 0..n as i64), 0..3 * n),
                proptest::collection::vec((0..n as u32, 0..n as u32), 0..n),
            )
                .prop_map(move |(pairs, merges)| {
                    let edges: Vec<(i64, i64)> = pairs.into_iter().filter(|(a, b)| a < b).collect();
                    let mut partner: Vec<u32> = (0..n as u32).collect();
                    for (a, b) in merges {
                        let free = |v: u32| partner[v as usize] == v;
                        if a != b && free(a) && free(b) {
                            partner[a as usize] = b;
                            partner[b as usize] = a;
                        }
                    }
                    let mut new_of = vec![u32::MAX; n];
                    let mut next = 0;
                    for v in 0..n {
                        if new_of[v] == u32::MAX {
                            new_of[v] = next;
                            new_of[partner[v] as usize] = next;
                            next += 1;
                        }
                    }
                    (n, edges, new_of)
                })
        })
    }

    /// The fragment graph of single-node fragments (rows of distinct
    /// successors) and candidates merging disjoint pairs of its edges.
    fn edge_merges(n: usize, edges: &[(i64, i64)], picks: &[usize]) -> (Candidates, Vec<u32>) {
        let mut rows = vec![Vec::new(); n];
        for &(a, b) in edges {
            if !rows[a as usize].contains(&(b as u32)) {
                rows[a as usize].push(b as u32);
            }
        }
        let mut c = Candidates::default();
        c.succ_off.push(0);
        for r in &mut rows {
            r.sort_unstable();
            c.succ.extend_from_slice(r);
            c.succ_off.push(c.succ.len() as u32);
        }
        let mut all: Vec<(u32, u32)> = (0..n as u32)
            .flat_map(|a| rows[a as usize].iter().map(move |&b| (a, b)))
            .collect();
        all.sort_unstable();
        let mut used = vec![false; n];
        let mut chosen = Vec::new();
        for &k in picks {
            let Some(&(fa, fb)) = all.get(k % all.len().max(1)) else {
                continue;
            };
            if !used[fa as usize] && !used[fb as usize] {
                used[fa as usize] = true;
                used[fb as usize] = true;
                chosen.push(c.list.len() as u32);
                c.list.push(Candidate { fa, fb, union: 0 });
            }
        }
        (c, chosen)
    }

    /// A DAG of `2..max_n` single-node fragments with up to `edges_per_node`
    /// edges per node, and merges of disjoint pairs of its edges
    /// ([`edge_merges`]): `(n, candidates, chosen)`.
    fn merge_case(
        max_n: usize,
        edges_per_node: usize,
    ) -> impl Strategy<Value = (usize, Candidates, Vec<u32>)> {
        (2..max_n)
            .prop_flat_map(move |n| {
                (
                    Just(n),
                    proptest::collection::vec((0..n as i64, 0..n as i64), 0..edges_per_node * n),
                    proptest::collection::vec(0..1000usize, 0..n),
                )
            })
            .prop_map(|(n, edges, picks)| {
                let edges: Vec<(i64, i64)> = edges.into_iter().filter(|(a, b)| a < b).collect();
                let (c, chosen) = edge_merges(n, &edges, &picks);
                (n, c, chosen)
            })
    }

    /// What [`undo_cycles`] must give: the cycle check run again on the whole
    /// graph after every step, each step undoing the worst-ranked merge of
    /// every component of the core.
    fn undo_by_components(c: &Candidates, mut chosen: Vec<u32>, n: usize) -> Vec<u32> {
        loop {
            let r = Renaming::new(n, &c.list, &chosen);
            let Some((comp_of, k)) = cyclic_components(&c.succ_off, &c.succ, &r.new_of, r.num_new)
            else {
                return chosen;
            };
            let mut undo = vec![None; k];
            for (m, &i) in chosen.iter().enumerate() {
                let at = r.new_of[c.list[i as usize].fa as usize];
                if comp_of[at as usize] != u32::MAX {
                    undo[comp_of[at as usize] as usize] = Some(m);
                }
            }
            let drop: Vec<usize> = undo.into_iter().flatten().collect();
            assert!(!drop.is_empty(), "a quotient cycle needs a merged part");
            let mut m = 0;
            chosen.retain(|_| {
                m += 1;
                !drop.contains(&(m - 1))
            });
        }
    }

    #[test]
    fn an_op_without_a_label_is_a_typed_error() {
        // op 3 passes a graph's check against 4 op names, but the miner was given
        // labels for 2 of them only
        let dag = Dag::validate(4, &[0, 3, 1], &[0, 1], &[1, 2]).unwrap().dag;
        let mut miner = Miner::new(vec![11, 12]);
        match miner.initial(&[&dag], &Control::new()) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains("op id 3 has no label"), "{m}"),
            other => panic!("expected an InvalidArgument, got {other:?}"),
        }
        // labelled ops give one single-op motif per op in use
        let mut miner = Miner::new(vec![11, 12, 13, 14]);
        let parts = miner.initial(&[&dag], &Control::new()).unwrap();
        assert_eq!(parts[0].len(), 3);
        assert_eq!(miner.single.len(), 3);
    }

    #[test]
    fn two_merges_of_branching_pairs_can_close_a_cycle() {
        // a=0 -> b=1, c=2 -> d=3, and a -> d, c -> b: {a,b} and {c,d} reach each other
        let (c, chosen) = edge_merges(4, &[(0, 1), (2, 3), (0, 3), (2, 1)], &[0, 3]);
        assert_eq!(chosen.len(), 2);
        let mut safe = SafeMerges::new(&c);
        assert!(!chosen.iter().all(|&i| safe.is_safe(&c.list[i as usize])));
        let r = Renaming::new(4, &c.list, &chosen);
        assert!(cyclic_components(&c.succ_off, &c.succ, &r.new_of, r.num_new).is_some());
    }

    proptest! {
        // cheap cases, and the peeling has paths that few of them take
        #![proptest_config(ProptestConfig::with_cases(8192))]

        /// Undoing worst first and peeling the core leaves the merges that
        /// checking the whole graph again after every step leaves.
        #[test]
        fn undo_cycles_is_undoing_by_components((n, c, chosen) in merge_case(40, 4)) {
            let want = undo_by_components(&c, chosen.clone(), n);
            let got = undo_cycles(&c, chosen, n, &Control::new()).unwrap().0;
            prop_assert_eq!(got, want);
        }
    }

    proptest! {
        /// Merges that [`SafeMerges`] passes never close a quotient cycle.
        #[test]
        fn safe_merges_close_no_cycle((n, c, chosen) in merge_case(24, 3)) {
            let mut safe = SafeMerges::new(&c);
            if chosen.iter().all(|&i| safe.is_safe(&c.list[i as usize])) {
                let r = Renaming::new(n, &c.list, &chosen);
                prop_assert!(cyclic_components(&c.succ_off, &c.succ, &r.new_of, r.num_new).is_none());
            }
        }

        /// The components found on the renamed fragment graph are the ones
        /// the contracted quotient has, as sets.
        #[test]
        fn cyclic_components_are_the_quotients((n, edges, new_of) in case()) {
            let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
            let dag = Dag::validate(1, &vec![0; n], &s, &d).unwrap().dag;
            // fragments are single nodes: the fragment graph is the DAG's
            let mut off = vec![0u32];
            let mut succ = Vec::new();
            for v in 0..n as u32 {
                succ.extend_from_slice(dag.successors(v));
                off.push(succ.len() as u32);
            }
            let num_new = *new_of.iter().max().unwrap() as usize + 1;
            let want = Quotient::new(&dag, &new_of).cyclic_components(num_new);
            let got = match cyclic_components(&off, &succ, &new_of, num_new) {
                None => Vec::new(),
                Some((comp_of, k)) => {
                    let mut comps = vec![Vec::new(); k];
                    for (x, &c) in comp_of.iter().enumerate() {
                        if c != u32::MAX {
                            comps[c as usize].push(x as u32);
                        }
                    }
                    comps.sort();
                    comps
                }
            };
            prop_assert_eq!(got, want);
        }
    }

    /// A graph past [`PAR_COUNT_MIN`], so counting runs over runs of classes:
    /// residual blocks with a branch and a diamond, each block's ops drawn
    /// from a few, plus scattered forward edges that make merges conflict.
    fn big_graph(blocks: usize) -> Dag {
        let mut x = 0x9e3779b97f4a7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut ops, mut src, mut dst) = (Vec::new(), Vec::new(), Vec::new());
        let mut prev = 0i64;
        ops.push(0);
        for _ in 0..blocks {
            let base = ops.len() as i64;
            // prev -> a -> b -> c, prev -> d -> c (the skip), a -> d
            for _ in 0..4 {
                ops.push(1 + (next() % 3) as i32);
            }
            for (s, d) in [(prev, base), (base, base + 1), (base + 1, base + 2)] {
                src.push(s);
                dst.push(d);
            }
            for (s, d) in [(prev, base + 3), (base + 3, base + 2), (base, base + 3)] {
                src.push(s);
                dst.push(d);
            }
            if next() % 5 == 0 && base > 40 {
                src.push(base - 1 - (next() % 40) as i64);
                dst.push(base + 1);
            }
            prev = base + 2;
        }
        Dag::validate(4, &ops, &src, &dst).expect("a DAG").dag
    }

    #[test]
    fn arrays_read_back_are_checked() {
        let ok = |offsets: Vec<u32>, nodes: Vec<u32>| {
            let n = nodes.len();
            let motif = vec![7u128; offsets.len().saturating_sub(1)];
            Partition::from_arrays(n, motif, offsets, nodes).is_some()
        };
        assert!(ok(vec![0, 2, 3], vec![2, 0, 1]));
        assert!(!ok(vec![0, 2, 3], vec![2, 0, 0]), "a node in two places");
        assert!(!ok(vec![0, 0, 3], vec![2, 0, 1]), "an empty fragment");
        // positions of crossing edges are 16 bits: no fragment past the motif limit
        let n = MAX_MOTIF_NODES as u32;
        assert!(ok(vec![0, n], (0..n).collect()));
        assert!(
            !ok(vec![0, n + 1], (0..n + 1).collect()),
            "a fragment too big"
        );
        let p = Partition::from_arrays(3, vec![1, 2], vec![0, 2, 3], vec![2, 0, 1]).unwrap();
        assert_eq!(
            p.arrays(),
            Some((&[1u128, 2][..], &[0u32, 2, 3][..], &[2u32, 0, 1][..]))
        );
        assert_eq!((p.size(0), p.size(1), p.num_nodes()), (2, 1, 3));
    }

    /// Rounds that carry crossing edges from one to the next find what rounds
    /// reading them off the nodes find: the same edges, the same candidates.
    #[test]
    fn carried_crossing_edges_are_those_of_the_nodes() {
        let dag = big_graph(20_000); // 80,001 nodes: several chunks of fragments
        let ctl = Control::new();
        let mut miner = Miner::new(vec![11, 22, 33, 44]);
        let mut p = miner.initial(&[&dag], &ctl).unwrap().pop().unwrap();
        let mut rounds = 0;
        loop {
            let mut cands = vec![miner.candidates(&dag, &p, 32, &ctl).unwrap()];
            miner.resolve(&mut cands, &ctl).unwrap();
            if let Some(rows) = p.rows() {
                // the same round read off the nodes
                let flat = miner.flatten(&p);
                assert!(flat.rows().is_none() && flat.base().is_some());
                let again = miner.candidates(&dag, &flat, 32, &ctl).unwrap();
                // (compared whole: a failure would print a million edges)
                let same = again.cross.as_deref() == Some(rows);
                assert!(same, "round {rounds}: the carried crossing edges differ");
                assert!(again.fresh.is_empty(), "the keys were interned");
                let pairs = |c: &Candidates| -> Vec<(u32, u32, u32)> {
                    c.list.iter().map(|x| (x.fa, x.fb, x.union)).collect()
                };
                let same = pairs(&again) == pairs(&cands[0])
                    && (&again.succ_off, &again.succ) == (&cands[0].succ_off, &cands[0].succ);
                assert!(same, "round {rounds}: other candidates or fragment graph");
            }
            let counts = miner.count(&mut cands[0], p.len());
            let mut rules: Vec<(u64, u128)> = counts
                .into_iter()
                .filter(|&(_, n)| n >= 2)
                .map(|(id, n)| (n, id))
                .collect();
            if rules.is_empty() {
                break;
            }
            rules.sort_unstable_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
            let rank = miner.rule_ranks(&rules.iter().map(|r| r.1).collect::<Vec<_>>());
            let next = miner.apply_rules(&p, &cands[0], &rank, &ctl).unwrap().part;
            assert!(next.rows().is_some(), "a merge carries the edges over");
            assert_eq!(next.num_nodes(), dag.num_nodes());
            p = next;
            rounds += 1;
        }
        assert!(rounds >= 3, "{rounds} rounds");
        // each node's fragment composed from the steps is the flattened one's
        let same = p.frag_of_nodes() == miner.flatten(&p).base().unwrap().frag_of;
        assert!(same, "the composed fragments differ");
    }

    #[test]
    fn a_big_graph_mines_the_same_on_one_thread_and_on_several() {
        let dag = big_graph(30_000); // 120,001 nodes
        assert!(dag.num_nodes() >= PAR_COUNT_MIN);
        let labels = [11u64, 22, 33, 44];
        let params = crate::motif::Params {
            min_count: 2,
            min_support: 1,
            max_motif_nodes: 32,
            max_levels: 8,
        };
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool")
                .install(|| {
                    let ctl = Control::new();
                    crate::mine::mine(crate::mine::Strategy::Merge, &[&dag], &labels, params, &ctl)
                        .expect("mined")
                        .0
                })
        };
        let (one, three) = (run(1), run(3));
        assert_eq!(one.vocabulary, three.vocabulary);
        assert_eq!(one.macros, three.macros);
        assert!(one.vocabulary.iter().any(|m| m.level >= 2));
        assert!(one.macros[0].motif_ids.len() < dag.num_nodes() / 4);
    }
}
