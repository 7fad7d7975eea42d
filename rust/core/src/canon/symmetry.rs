//! Automorphisms known before the search, to prune it from the start.
//!
//! Orbit pruning only skips a child once an automorphism relating it to a tried
//! one has been found, and finding one costs a whole extra path of the search
//! tree: with hundreds of interchangeable vertices that is hundreds of paths of
//! hundreds of nodes. Two kinds of symmetry are cheap to see directly:
//!
//! - **twins**: vertices with the same label and the same in- and out-neighbour
//!   sets. Swapping two twins is an automorphism that moves nothing else. The
//!   rest works on the twin quotient (one vertex per twin class, labelled by
//!   label and class size), whose automorphisms lift to the graph;
//! - **interchangeable pieces**: refine the quotient's colouring to an
//!   equitable partition and drop its singleton cells; in what is left, take
//!   the connected components. A vertex of a component has the same edges to
//!   every singleton as the rest of its cell (equitability), so a colour-
//!   preserving isomorphism between two components, or an automorphism of one,
//!   extended by the identity, is an automorphism of the whole graph moving
//!   nothing outside them. Each component is canonicalised (with the cell
//!   colours as labels, and recursively decomposed the same way), and while no
//!   vertex of it is individualised ("free"), its vertex at canonical position
//!   `p` is interchangeable with the vertex at any position of `p`'s orbit in
//!   every free copy of it. This covers repeated components, isolated nodes,
//!   one op fanning out to many identical branches, and trees.
//!
//! Each vertex gets a key: that of the outermost free piece holding it, else
//! its twin class. Two vertices outside the individualised prefix with one key
//! are in one orbit of the automorphisms fixing the prefix, so the search tries
//! one vertex per key. Keys only prune (the search still takes the minimum over
//! the leaves left, which hold every form), so they leave the form unchanged.

use rustc_hash::FxHashMap as HashMap;

use super::digraph::Digraph;
use super::meter::Meter;
use super::partition::Partition;
use super::search::{canonical, Outcome};
use crate::error::Result;

/// Deepest nesting of pieces decomposed (each level is smaller; trees need
/// about log n levels). Past it pieces are just not decomposed: less pruning.
const MAX_DEPTH: usize = 32;

pub(super) struct Known {
    twin: Vec<u32>,
    /// The pieces holding each twin class, outermost first, with its key in
    /// each: `chain[chain_off[q]..chain_off[q + 1]]`.
    chain_off: Vec<u32>,
    chain: Vec<(u32, u32)>,
    /// Individualised vertices in each piece.
    pinned: Vec<u32>,
    /// Twin keys come after the `num_piece_keys` keys of pieces.
    num_piece_keys: u32,
    /// Size of each twin class, and how many of it are individualised.
    twin_size: Vec<u32>,
    twin_pinned: Vec<u32>,
}

/// Twin class of each vertex (dense ids in order of first vertex).
fn twin_classes(g: &Digraph, meter: &mut Meter) -> Result<Vec<u32>> {
    let n = g.n();
    let mut idx: Vec<u32> = (0..n as u32).collect();
    let sig = |v: u32| (g.labels[v as usize], g.out(v), g.inn(v));
    idx.sort_by(|&a, &b| sig(a).cmp(&sig(b)).then(a.cmp(&b)));
    meter.add((n + 2 * g.m()) as u64 * 4)?;
    // a class is numbered by the order of its smallest vertex
    let mut first = vec![0u32; n];
    for (i, &v) in idx.iter().enumerate() {
        first[v as usize] = if i > 0 && sig(idx[i - 1]) == sig(v) {
            first[idx[i - 1] as usize]
        } else {
            v // idx is sorted by vertex within a class: v is its smallest
        };
    }
    let mut id_of = vec![u32::MAX; n];
    let mut twin = vec![0u32; n];
    let mut next = 0;
    for v in 0..n {
        let f = first[v] as usize;
        if id_of[f] == u32::MAX {
            id_of[f] = next;
            next += 1;
        }
        twin[v] = id_of[f];
    }
    Ok(twin)
}

/// Orbit of each canonical position of a searched graph: the smallest position
/// its vertex shares an orbit with (under its known and found automorphisms).
fn position_orbits(out: &Outcome, known: &Known) -> Vec<u32> {
    let n = out.order.len();
    let mut uf = UnionFind::new(n);
    let mut first_of_key = vec![u32::MAX; known.num_keys()];
    for v in 0..n as u32 {
        let f = &mut first_of_key[known.key(v) as usize];
        if *f == u32::MAX {
            *f = v;
        } else {
            uf.union(*f, v);
        }
    }
    for a in &out.autos {
        for (x, &y) in a.iter().enumerate() {
            uf.union(x as u32, y);
        }
    }
    let mut min_pos = vec![u32::MAX; n];
    for (p, &v) in out.order.iter().enumerate() {
        let r = uf.find(v) as usize;
        min_pos[r] = min_pos[r].min(p as u32);
    }
    (0..n)
        .map(|p| min_pos[uf.find(out.order[p]) as usize])
        .collect()
}

/// The twin quotient: one vertex per class, labelled by (label, class size)
/// (as dense ids, so distinct pairs never share a label).
fn quotient(g: &Digraph, twin: &[u32], classes: usize) -> Digraph {
    let mut size = vec![0u64; classes];
    let mut label = vec![0u64; classes];
    for (v, &t) in twin.iter().enumerate() {
        size[t as usize] += 1;
        label[t as usize] = g.labels[v];
    }
    let mut pairs: Vec<(u64, u64)> = label.iter().copied().zip(size.iter().copied()).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let labels: Vec<u64> = (0..classes)
        .map(|q| pairs.binary_search(&(label[q], size[q])).expect("listed") as u64)
        .collect();
    let mut edges = Vec::with_capacity(g.m());
    for v in 0..g.n() as u32 {
        for &w in g.out(v) {
            edges.push((twin[v as usize], twin[w as usize]));
        }
    }
    Digraph::new(&labels, &edges)
}

/// A piece's exact canonical shape: labels in canonical order, sorted edges.
type Shape = (Vec<u64>, Vec<(u32, u32)>);

/// Pieces found so far while decomposing: the chain of (piece, key) of each
/// vertex of the graph being decomposed.
struct Pieces {
    chains: Vec<Vec<(u32, u32)>>,
    count: u32,
    keys: u32,
}

/// Connected components of the vertices outside the singleton cells of the
/// equitable partition `part` of `x` (vertex lists, ascending).
fn components_without_singletons(
    x: &Digraph,
    part: &Partition,
    meter: &mut Meter,
) -> Result<Vec<Vec<u32>>> {
    let n = x.n();
    let kept = |v: u32| part.size(part.cell[v as usize]) > 1;
    let mut comp = vec![u32::MAX; n];
    let mut members: Vec<Vec<u32>> = Vec::new();
    let mut stack = Vec::new();
    for s in 0..n as u32 {
        if comp[s as usize] != u32::MAX || !kept(s) {
            continue;
        }
        let c = members.len() as u32;
        comp[s as usize] = c;
        stack.push(s);
        let mut list = Vec::new();
        while let Some(v) = stack.pop() {
            list.push(v);
            for &w in x.out(v).iter().chain(x.inn(v)) {
                if comp[w as usize] == u32::MAX && kept(w) {
                    comp[w as usize] = c;
                    stack.push(w);
                }
            }
        }
        list.sort_unstable();
        members.push(list);
    }
    meter.add((n + 2 * x.m()) as u64)?;
    Ok(members)
}

/// Records the pieces of `x` (and, recursively, of each piece) in `pieces`,
/// given `x`'s equitable partition.
fn decompose(
    x: &Digraph,
    part: &Partition,
    pieces: &mut Pieces,
    meter: &mut Meter,
    depth: usize,
) -> Result<()> {
    let members = components_without_singletons(x, part, meter)?;
    let colour = |v: u32| u64::from(part.colour(v));
    if members.len() < 2 {
        return Ok(()); // one piece (or none) is the graph's own business: the search's
    }
    let mut classes: HashMap<Shape, u32> = HashMap::default();
    for c in &members {
        let id = pieces.count;
        pieces.count += 1;
        let mut class_base = |labels: Vec<u64>, form: Vec<(u32, u32)>, size: u32| {
            *classes.entry((labels, form)).or_insert_with(|| {
                pieces.keys += size;
                pieces.keys - size
            })
        };
        if let [v] = c[..] {
            let key = class_base(vec![colour(v)], vec![], 1);
            pieces.chains[v as usize].push((id, key));
            continue;
        }
        let mut sub = x.induced(c);
        sub.labels = c.iter().map(|&v| colour(v)).collect();
        meter.add((sub.n() + sub.m()) as u64)?;
        let (out, sub_known) = canonical(&sub, meter, depth + 1)?;
        let labels: Vec<u64> = out.order.iter().map(|&v| sub.labels[v as usize]).collect();
        let base = class_base(labels, out.form.clone(), c.len() as u32);
        let orbit = position_orbits(&out, &sub_known);
        let (piece_off, key_off) = (pieces.count, pieces.keys);
        pieces.count += sub_known.pinned.len() as u32;
        pieces.keys += sub_known.num_piece_keys;
        for (p, &s) in out.order.iter().enumerate() {
            let chain = &mut pieces.chains[c[s as usize] as usize];
            chain.push((id, base + orbit[p]));
            chain.extend(
                sub_known
                    .chain_of(s)
                    .iter()
                    .map(|&(piece, key)| (piece + piece_off, key + key_off)),
            );
        }
        meter.add(c.len() as u64 * 4)?;
    }
    Ok(())
}

impl Known {
    /// Nothing known: for a graph whose equitable partition is discrete
    /// (the search is a single leaf).
    pub fn none(n: usize) -> Self {
        Known {
            twin: (0..n as u32).collect(),
            chain_off: vec![0; n + 1],
            chain: Vec::new(),
            pinned: Vec::new(),
            num_piece_keys: 0,
            twin_size: vec![1; n],
            twin_pinned: vec![0; n],
        }
    }

    /// Twins, and the pieces of the twin quotient; `part` is `g`'s equitable
    /// partition, at nesting `depth` of pieces.
    pub fn new(g: &Digraph, part: &Partition, meter: &mut Meter, depth: usize) -> Result<Self> {
        let twin = twin_classes(g, meter)?;
        let classes = twin.iter().max().map_or(0, |&t| t as usize + 1);
        let mut pieces = Pieces {
            chains: vec![Vec::new(); classes],
            count: 0,
            keys: 0,
        };
        if depth < MAX_DEPTH && classes > 1 {
            if classes < g.n() {
                let q = quotient(g, &twin, classes);
                meter.add((g.n() + g.m()) as u64 * 2)?;
                let q_part = Partition::new(&q, meter)?;
                decompose(&q, &q_part, &mut pieces, meter, depth)?;
            } else {
                decompose(g, part, &mut pieces, meter, depth)?;
            }
        }
        let mut chain_off = Vec::with_capacity(classes + 1);
        chain_off.push(0);
        let mut chain = Vec::new();
        for c in pieces.chains {
            chain.extend(c);
            chain_off.push(chain.len() as u32);
        }
        let mut twin_size = vec![0; classes];
        for &t in &twin {
            twin_size[t as usize] += 1;
        }
        Ok(Known {
            twin,
            chain_off,
            chain,
            pinned: vec![0; pieces.count as usize],
            num_piece_keys: pieces.keys,
            twin_size,
            twin_pinned: vec![0; classes],
        })
    }

    fn chain_of(&self, v: u32) -> &[(u32, u32)] {
        let q = self.twin[v as usize] as usize;
        &self.chain[self.chain_off[q] as usize..self.chain_off[q + 1] as usize]
    }

    /// Upper bound on keys, for dense tables.
    pub fn num_keys(&self) -> usize {
        self.num_piece_keys as usize + self.twin.len()
    }

    /// The vertex's key with the current individualised vertices.
    pub fn key(&self, v: u32) -> u32 {
        for &(piece, key) in self.chain_of(v) {
            if self.pinned[piece as usize] == 0 {
                return key;
            }
        }
        self.num_piece_keys + self.twin[v as usize]
    }

    /// Whether a cell of `size` vertices holding `v` holds only twins of `v`
    /// (twins never individualised always share a cell: swapping them is an
    /// automorphism fixing everything individualised).
    pub fn all_twins(&self, v: u32, size: u32) -> bool {
        let q = self.twin[v as usize] as usize;
        self.twin_size[q] - self.twin_pinned[q] == size
    }

    pub fn pin(&mut self, v: u32) {
        let q = self.twin[v as usize] as usize;
        self.twin_pinned[q] += 1;
        for i in self.chain_off[q]..self.chain_off[q + 1] {
            self.pinned[self.chain[i as usize].0 as usize] += 1;
        }
    }

    pub fn unpin(&mut self, v: u32) {
        let q = self.twin[v as usize] as usize;
        self.twin_pinned[q] -= 1;
        for i in self.chain_off[q]..self.chain_off[q + 1] {
            self.pinned[self.chain[i as usize].0 as usize] -= 1;
        }
    }
}

/// Union-find with path halving.
pub(super) struct UnionFind(Vec<u32>);

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind((0..n as u32).collect())
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            self.0[x as usize] = self.0[self.0[x as usize] as usize];
            x = self.0[x as usize];
        }
        x
    }

    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb) as usize] = ra.min(rb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Control;

    #[test]
    fn twins_share_label_and_both_neighbour_sets() {
        // 0 -> {2, 3, 4, 5}; 1 -> {2, 3}; 2, 3: twins; 4, 5: same label and
        // successors, different predecessors; 6: like 2 with another label
        let labels = [0, 0, 1, 1, 1, 1, 2];
        let edges = [
            (0, 2),
            (0, 3),
            (0, 4),
            (0, 5),
            (1, 2),
            (1, 3),
            (1, 4),
            (0, 6),
            (1, 6),
        ];
        let g = Digraph::new(&labels, &edges);
        let ctl = Control::new();
        let mut meter = Meter::new(&ctl, 7, u64::MAX);
        let t = twin_classes(&g, &mut meter).unwrap();
        assert_eq!(t[2], t[3]);
        assert_ne!(t[4], t[5]);
        assert_ne!(t[2], t[6]);
        assert_ne!(t[0], t[1]);
    }
}
