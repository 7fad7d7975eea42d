//! Candidate merges of one graph, found without an allocation per candidate,
//! and the table that interns their exact keys.
//!
//! A candidate is a pair of adjacent fragments `fa -> fb` whose union fits the
//! size limit and is convex on its own. Its exact [`Key`] (the two motifs and
//! the crossing edges in canonical positions) is never built per candidate:
//! the crossing edges stay in one flat buffer per round, the key is hashed from
//! that slice and looked up in the miner's [`Interned`] table, and only a key
//! the table has never seen is built, once per chunk of fragments. So a round
//! costs a few flat passes over the edges, whatever the number of candidates.
//!
//! Work is split over chunks of fragments (a lone big graph uses every core);
//! chunks are concatenated in order, so the result does not depend on the
//! split: candidates come out ordered by (source fragment, target fragment).

use std::hash::{Hash, Hasher};

use rayon::prelude::*;
use rustc_hash::FxHasher;

use crate::control::Control;
use crate::error::Result;
use crate::graph::Dag;
use crate::motif::Key;
use crate::round::{Base, Partition};

/// Fragments handled by one task; small graphs stay in one.
pub(crate) const CHUNK: usize = 1 << 14;

/// Marks a [`Candidate::union`] that indexes [`Candidates::fresh`] (a key
/// the miner has not interned yet) instead of the miner's union list.
pub(crate) const FRESH: u32 = 1 << 31;

/// Visits allowed when looking for a detour; past it a merge counts as not convex.
const DETOUR_BUDGET: usize = 256;

/// One candidate merge `fa -> fb`; `union` indexes the miner's union list
/// once [`crate::round::Miner::resolve`] has run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub(crate) fa: u32,
    pub(crate) fb: u32,
    pub(crate) union: u32,
}

/// The candidates of one graph, ordered by `(fa, fb)`, and the keys among
/// them the miner had not interned when they were found.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    pub(crate) list: Vec<Candidate>,
    pub(crate) fresh: Vec<Key>,
    /// The fragment graph they were found in (each fragment's distinct
    /// successors): what contracting by merges of these candidates makes of
    /// it is the next quotient, so its acyclicity is checked on this.
    pub(crate) succ_off: Vec<u32>,
    pub(crate) succ: Vec<u32>,
    /// After counting: the candidates grouped by union class (each group in
    /// list order), which applying the rules reads instead of grouping again,
    /// and whether each group is already in the order the rules take its
    /// candidates (by lower, then higher fragment).
    pub(crate) by_class: Option<(Groups, Vec<bool>)>,
    /// The crossing edges, when the search found them on the nodes (the
    /// partition carried none): applying the rules carries them to the next.
    pub(crate) cross: Option<Vec<Crossing>>,
}

/// Candidate indices grouped by a key: the keys, group offsets, and the
/// indices of group `g` in list order at `values[offsets[g]..offsets[g + 1]]`.
pub(crate) type Groups = (Vec<u32>, Vec<u32>, Vec<u32>);

impl Candidates {
    /// True when these candidates, read back from a shard state, can be those
    /// of a partition of `num_frags` fragments under a miner of `num_unions`
    /// unions: resolved, each a pair of distinct fragments in `(fa, fb)` order
    /// with a known union, over a fragment graph of those fragments.
    pub(crate) fn fits(&self, num_frags: usize, num_unions: usize) -> bool {
        let (nf, nu) = (num_frags as u64, num_unions as u64);
        let list_ok = self.list.iter().all(|c| {
            (c.fa as u64) < nf && (c.fb as u64) < nf && c.fa != c.fb && (c.union as u64) < nu
        }) && self
            .list
            .windows(2)
            .all(|w| (w[0].fa, w[0].fb) < (w[1].fa, w[1].fb));
        let off = &self.succ_off;
        let graph_ok = off.len() == num_frags + 1
            && off.first() == Some(&0)
            && off.last().map(|&o| o as usize) == Some(self.succ.len())
            && off.windows(2).all(|w| w[0] <= w[1])
            && self.succ.iter().all(|&b| (b as u64) < nf);
        self.fresh.is_empty() && list_ok && graph_ok
    }
}

/// Exact keys, each stored once and named by its index in insertion order.
///
/// Looked up once per candidate, so the table is a plain open-addressing one:
/// a power-of-two array of (hash, index + 1) probed linearly from the hash's
/// top bits, at most half full; a slot's stored hash is compared before the
/// key, so a probe reads a key only when the full 64-bit hashes agree.
#[derive(Debug, Default)]
pub(crate) struct Interned {
    /// (hash, key index + 1); 0: empty.
    slots: Vec<(u64, u32)>,
    keys: Vec<Key>,
}

fn key_hash(a: u128, b: u128, cross: &[(u32, u32)]) -> u64 {
    let mut h = FxHasher::default();
    (a, b).hash(&mut h);
    cross.hash(&mut h);
    h.finish()
}

impl Interned {
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn key(&self, i: u32) -> &Key {
        &self.keys[i as usize]
    }

    /// The first slot to probe for hash `h` in a table of `len` slots.
    #[inline]
    fn home(h: u64, len: usize) -> usize {
        // Fx mixes into the high bits; a table has at least 16 slots
        (h >> (64 - len.trailing_zeros())) as usize & (len - 1)
    }

    fn find(&self, h: u64, a: u128, b: u128, cross: &[(u32, u32)]) -> Option<u32> {
        let n = self.slots.len();
        if n == 0 {
            return None;
        }
        let mut i = Self::home(h, n);
        loop {
            let (sh, k) = self.slots[i];
            if k == 0 {
                return None;
            }
            if sh == h {
                let key = &self.keys[k as usize - 1];
                if key.a == a && key.b == b && key.cross == cross {
                    return Some(k - 1);
                }
            }
            i = (i + 1) & (n - 1);
        }
    }

    /// The index of `key`, interning it when new.
    pub(crate) fn intern(&mut self, key: Key) -> u32 {
        let h = key_hash(key.a, key.b, &key.cross);
        match self.find(h, key.a, key.b, &key.cross) {
            Some(i) => i,
            None => self.insert(h, key),
        }
    }

    /// Interns `key`, absent so far, whose hash is `h`.
    fn insert(&mut self, h: u64, key: Key) -> u32 {
        if 2 * (self.keys.len() + 1) > self.slots.len() {
            let grown = (2 * self.slots.len()).max(16);
            let old = std::mem::replace(&mut self.slots, vec![(0, 0); grown]);
            for (sh, k) in old.into_iter().filter(|&(_, k)| k != 0) {
                self.place(sh, k);
            }
        }
        self.keys.push(key);
        let k = self.keys.len() as u32;
        self.place(h, k);
        k - 1
    }

    /// Puts (hash, index + 1) in the first empty slot of its probe sequence.
    fn place(&mut self, h: u64, k: u32) {
        let n = self.slots.len();
        let mut i = Self::home(h, n);
        while self.slots[i].1 != 0 {
            i = (i + 1) & (n - 1);
        }
        self.slots[i] = (h, k);
    }

    /// The interned keys, leaving the table empty.
    pub(crate) fn into_keys(self) -> Vec<Key> {
        self.keys
    }
}

/// Crossing edges `(target fragment, source position, target position)` of
/// one chunk of [`CHUNK`] fragments, sorted per source fragment: the chunk's
/// `i`-th fragment's are `edges[off[i]..off[i + 1]]`. Kept per chunk, as
/// found: the candidate search reads them by the same chunks, so they are
/// never copied into one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Crossing {
    /// Positions fit 16 bits: a fragment has at most
    /// [`crate::motif::MAX_MOTIF_NODES`] nodes.
    pub(crate) edges: Vec<(u32, u16, u16)>,
    pub(crate) off: Vec<u32>,
}

impl Crossing {
    fn row(&self, i: usize) -> &[(u32, u16, u16)] {
        &self.edges[self.off[i] as usize..self.off[i + 1] as usize]
    }
}

// positions of crossing edges are stored in 16 bits
const _: () = assert!(crate::motif::MAX_MOTIF_NODES <= 1 << 16);

/// The crossing edges of fragment `f`, from the chunks of every fragment's.
pub(crate) fn row_of(cross: &[Crossing], f: u32) -> &[(u32, u16, u16)] {
    cross[f as usize / CHUNK].row(f as usize % CHUNK)
}

/// The crossing edges of every fragment of a node-level partition, by chunks
/// of [`CHUNK`] fragments.
fn crossing(dag: &Dag, p: &Base, nf: usize, ctl: &Control) -> Result<Vec<Crossing>> {
    (0..nf.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            ctl.check()?;
            let frags = (c * CHUNK) as u32..((c + 1) * CHUNK).min(nf) as u32;
            // at most every edge leaving the chunk's nodes (all of them, one chunk)
            let mut edges = Vec::with_capacity(dag.num_edges() * frags.len() / nf.max(1) + 16);
            let mut off = Vec::with_capacity(frags.len() + 1);
            off.push(0);
            for f in frags {
                let start = edges.len();
                for &u in p.nodes_of(f) {
                    for &v in dag.successors(u) {
                        let fb = p.frag_of[v as usize];
                        if fb != f {
                            edges.push((fb, p.pos(u) as u16, p.pos(v) as u16));
                        }
                    }
                }
                edges[start..].sort_unstable();
                off.push(edges.len() as u32);
            }
            Ok(Crossing { edges, off })
        })
        .collect()
}

/// Adjacent fragment pairs of one graph whose union fits `max_nodes` and is
/// convex on its own, ordered by (source fragment, target fragment), their
/// keys looked up in `interned`.
pub(crate) fn find(
    dag: &Dag,
    p: &Partition,
    max_nodes: usize,
    interned: &Interned,
    ctl: &Control,
) -> Result<Candidates> {
    // found on the nodes only when the last merge carried none
    let found = match p.rows() {
        Some(_) => None,
        None => {
            let base = p.base().expect("a partition with rows or node-level");
            Some(crossing(dag, base, p.len(), ctl)?)
        }
    };
    let cross = found.as_deref().or(p.rows()).expect("found or carried");
    ctl.check()?;
    // a graph's first partition numbers its fragments (nodes) by canonical
    // rank, which is ordered by depth: already a topological order
    let topological = p.base().is_some_and(|b| b.by_rank());
    let frags = FragGraph::new(cross, p.len(), topological);
    ctl.check()?;
    let nf = p.len();
    let mut chunks: Vec<Candidates> = (0..nf.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            ctl.check()?;
            let (start, end) = (c * CHUNK, ((c + 1) * CHUNK).min(nf));
            let mut out = Candidates::default();
            // at most one candidate per fragment edge
            out.list
                .reserve((frags.offsets[end] - frags.offsets[start]) as usize);
            let mut fresh = Interned::default();
            let mut edges: Vec<(u32, u32)> = Vec::new();
            let (mut stack, mut seen) = (Vec::new(), Vec::new());
            for fa in start as u32..end as u32 {
                let row = cross[c].row(fa as usize - start);
                let size_a = p.size(fa);
                let mut i = 0;
                while i < row.len() {
                    let fb = row[i].0;
                    let mut j = i;
                    while j < row.len() && row[j].0 == fb {
                        j += 1;
                    }
                    if size_a + p.size(fb) <= max_nodes
                        && frags.no_detour(fa, fb, &mut stack, &mut seen)
                    {
                        edges.clear();
                        edges.extend(row[i..j].iter().map(|e| (e.1 as u32, e.2 as u32)));
                        let (a, b) = (p.motif[fa as usize], p.motif[fb as usize]);
                        let h = key_hash(a, b, &edges);
                        let union = match interned.find(h, a, b, &edges) {
                            Some(u) => u,
                            None => match fresh.find(h, a, b, &edges) {
                                Some(f) => FRESH | f,
                                None => {
                                    let key = Key {
                                        a,
                                        b,
                                        cross: edges.clone(),
                                    };
                                    FRESH | fresh.insert(h, key)
                                }
                            },
                        };
                        out.list.push(Candidate { fa, fb, union });
                    }
                    i = j;
                }
            }
            out.fresh = fresh.into_keys();
            Ok(out)
        })
        .collect::<Result<_>>()?;
    if chunks.len() == 1 {
        let mut out = chunks.pop().expect("one chunk");
        (out.succ_off, out.succ) = (frags.offsets, frags.succ);
        out.cross = found;
        return Ok(out);
    }
    // Renumber each chunk's fresh keys into one list for the graph.
    let mut fresh = Interned::default();
    let mut list = Vec::with_capacity(chunks.iter().map(|c| c.list.len()).sum());
    for chunk in chunks {
        let slots: Vec<u32> = chunk.fresh.into_iter().map(|k| fresh.intern(k)).collect();
        list.extend(chunk.list.into_iter().map(|mut c| {
            if c.union & FRESH != 0 {
                c.union = FRESH | slots[(c.union & !FRESH) as usize];
            }
            c
        }));
    }
    Ok(Candidates {
        list,
        fresh: fresh.into_keys(),
        succ_off: frags.offsets,
        succ: frags.succ,
        by_class: None,
        cross: found,
    })
}

/// The current fragment graph (a DAG) with a topological index per fragment,
/// to test whether merging an edge `a -> b` keeps the quotient acyclic.
struct FragGraph {
    offsets: Vec<u32>,
    succ: Vec<u32>,
    topo: Vec<u32>,
}

impl FragGraph {
    /// The fragment graph of `n` fragments with crossing edges `cross`, its
    /// topological index Kahn's (first in, first out from the sources in index
    /// order), or the fragment index itself when `topological` says that is one
    /// already.
    fn new(cross: &[Crossing], n: usize, topological: bool) -> Self {
        let mut offsets = Vec::with_capacity(n + 1);
        let edges = cross.iter().map(|c| c.edges.len()).sum();
        let mut succ: Vec<u32> = Vec::with_capacity(edges);
        offsets.push(0);
        let rows = cross
            .iter()
            .flat_map(|c| (0..c.off.len() - 1).map(move |i| c.row(i)));
        for row in rows {
            let mut last = u32::MAX;
            for &(b, _, _) in row {
                if b != last {
                    succ.push(b);
                    last = b;
                }
            }
            offsets.push(succ.len() as u32);
        }
        if topological {
            debug_assert!((0..n).all(|a| {
                succ[offsets[a] as usize..offsets[a + 1] as usize]
                    .iter()
                    .all(|&b| b as usize > a)
            }));
            return FragGraph {
                offsets,
                succ,
                topo: (0..n as u32).collect(),
            };
        }
        let mut indeg = vec![0u32; n];
        for &b in &succ {
            indeg[b as usize] += 1;
        }
        let mut topo = vec![0u32; n];
        let mut queue: Vec<u32> = Vec::with_capacity(n);
        queue.extend((0..n as u32).filter(|&v| indeg[v as usize] == 0));
        let mut head = 0;
        while head < queue.len() {
            let v = queue[head];
            topo[v as usize] = head as u32;
            head += 1;
            for &w in &succ[offsets[v as usize] as usize..offsets[v as usize + 1] as usize] {
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
        &self.succ[self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize]
    }

    /// True when no path `a -> x -> ... -> b` avoids the direct edge, i.e.
    /// merging `a` and `b` alone keeps the quotient a DAG. A search past
    /// [`DETOUR_BUDGET`] visits answers false (conservatively).
    /// `stack` and `seen` are scratch space, reused from call to call.
    fn no_detour(&self, a: u32, b: u32, stack: &mut Vec<u32>, seen: &mut Vec<u32>) -> bool {
        let limit = self.topo[b as usize];
        if limit == self.topo[a as usize] + 1 {
            return true;
        }
        stack.clear();
        stack.extend(
            self.successors(a)
                .iter()
                .copied()
                .filter(|&x| x != b && self.topo[x as usize] < limit),
        );
        if stack.is_empty() {
            return true;
        }
        seen.clear();
        seen.extend_from_slice(stack);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Key {
        Key {
            // distinct for distinct i: (a, crossing edge count) tells i
            a: (i / 4) as u128,
            b: 3,
            cross: (0..i % 4).map(|j| (j, j + 1)).collect(),
        }
    }

    #[test]
    fn interns_each_key_once_in_order_across_growth() {
        let mut t = Interned::default();
        assert_eq!(t.find(key_hash(1, 2, &[]), 1, 2, &[]), None);
        for i in 0..1000 {
            assert_eq!(t.intern(key(i)), i, "a new key gets the next index");
        }
        assert_eq!(t.len(), 1000);
        for i in (0..1000).rev() {
            assert_eq!(t.intern(key(i)), i, "a known key keeps its index");
            let k = key(i);
            assert_eq!(
                t.find(key_hash(k.a, k.b, &k.cross), k.a, k.b, &k.cross),
                Some(i)
            );
            assert_eq!(t.key(i), &k);
        }
        // same motifs, other crossing edges: another key
        let k = Key {
            a: 0,
            b: 3,
            cross: vec![(9, 9)],
        };
        assert_eq!(
            t.find(key_hash(k.a, k.b, &k.cross), k.a, k.b, &k.cross),
            None
        );
        assert_eq!(t.intern(k), 1000);
        assert_eq!(t.into_keys().len(), 1001);
    }
}
