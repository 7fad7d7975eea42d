//! The search tree of individualisation-refinement, walked depth first with an
//! explicit stack (a path can be as long as the graph), and its pruning.
//!
//! A node is an equitable ordered partition; its children individualise each
//! vertex of its first non-singleton cell, smallest vertex id first; its leaves
//! are discrete partitions, i.e. vertex orders, and the canonical form is the
//! smallest sorted edge list over all leaves (the first leaf reaching it gives
//! the order). Pruning never changes that minimum, only which leaves are seen:
//!
//! - a child in the orbit of a tried one under automorphisms fixing the path is
//!   skipped: one child per key of [`Known`] (automorphisms known in advance),
//!   then orbits of those and of the automorphisms found so far;
//! - a leaf whose form equals the best leaf's is the image of it under an
//!   automorphism fixing their common prefix, so the rest of its branch below
//!   that prefix repeats forms already seen and is abandoned (backjumping, as
//!   nauty does to the first path).

use super::digraph::Digraph;
use super::meter::Meter;
use super::partition::Partition;
use super::symmetry::{Known, UnionFind};
use crate::error::Result;

/// The result of a search: the canonical form (sorted edges between
/// positions), the order giving it, and the automorphisms found on the way.
pub(super) struct Outcome {
    pub form: Vec<(u32, u32)>,
    pub order: Vec<u32>,
    pub autos: Vec<Vec<u32>>,
}

/// The best leaf so far: its sorted edge form and its vertex order.
type Leaf = (Vec<(u32, u32)>, Vec<u32>);

/// Entries of found automorphisms kept for orbit pruning (16 MiB): the work
/// budget alone would allow about 256 MiB on 4,096 nodes. Past it new ones are
/// not kept, which only prunes less; backjumping does not need them.
const AUTO_ENTRIES: usize = 1 << 22;

/// A search-tree node on the current path.
struct Frame {
    /// The target cell, which the node's partition is restored to on return.
    cell: u32,
    start: u32,
    mark: usize,
    /// The child being searched.
    current: u32,
    tried: Vec<u32>,
    /// The children left (one per key, smallest id first), once the first is done.
    reps: Option<Vec<u32>>,
    next: usize,
    /// Orbits under the automorphisms fixing this node's path, with how many
    /// of the found automorphisms they include.
    orbits: Option<(UnionFind, usize)>,
}

struct Search<'a, 'c> {
    g: &'a Digraph,
    part: Partition,
    known: &'a mut Known,
    meter: &'a mut Meter<'c>,
    best: Option<Leaf>,
    best_path: Vec<u32>,
    autos: Vec<Vec<u32>>,
    path: Vec<u32>,
    on_path: Vec<bool>,
    // scratch of `children`, indexed by key
    stamp: Vec<u32>,
    generation: u32,
    rep_of: Vec<u32>,
}

/// The canonical form and order of `g`, with the symmetry known in advance
/// (at nesting `depth` of pieces), which only a partition that is not
/// already discrete needs.
pub(super) fn canonical(g: &Digraph, meter: &mut Meter, depth: usize) -> Result<(Outcome, Known)> {
    let part = Partition::new(g, meter)?;
    let mut known = if part.is_discrete() {
        Known::none(g.n())
    } else {
        Known::new(g, &part, meter, depth)?
    };
    let out = canonical_order(g, part, &mut known, meter)?;
    Ok((out, known))
}

/// The search from the equitable partition `part` of `g`, pruned with `known`.
fn canonical_order(
    g: &Digraph,
    part: Partition,
    known: &mut Known,
    meter: &mut Meter,
) -> Result<Outcome> {
    let n = g.n();
    let keys = known.num_keys();
    let mut s = Search {
        g,
        part,
        known,
        meter,
        best: None,
        best_path: Vec::new(),
        autos: Vec::new(),
        path: Vec::new(),
        on_path: vec![false; n],
        stamp: vec![0; keys],
        generation: 0,
        rep_of: vec![0; keys],
    };
    s.run()?;
    let (form, order) = s.best.unwrap_or_default();
    Ok(Outcome {
        form,
        order,
        autos: s.autos,
    })
}

impl Search<'_, '_> {
    fn run(&mut self) -> Result<()> {
        let mut frames: Vec<Frame> = Vec::new();
        let mut from = 0u32;
        'node: loop {
            let mut jump = match self.part.first_nonsingleton(from, self.meter)? {
                Some(cell) => {
                    let members = self.part.members(cell);
                    let v = *members.iter().min().expect("a cell has members");
                    self.meter.add(members.len() as u64 + 16)?;
                    let start = self.part.start[cell as usize];
                    frames.push(Frame {
                        cell,
                        start,
                        mark: self.part.mark(),
                        current: v,
                        tried: Vec::new(),
                        reps: None,
                        next: 0,
                        orbits: None,
                    });
                    self.descend(v)?;
                    from = start;
                    continue 'node;
                }
                None => self.leaf()?,
            };
            // Back up: return from the child, then take the next one or go up.
            loop {
                let depth = frames.len().saturating_sub(1);
                let Some(f) = frames.last_mut() else {
                    return Ok(());
                };
                self.part.undo_to(f.mark, self.meter)?;
                self.path.pop();
                self.on_path[f.current as usize] = false;
                self.known.unpin(f.current);
                f.tried.push(f.current);
                if jump.is_some_and(|k| k < depth) {
                    frames.pop(); // the branch to abandon is further up
                    continue;
                }
                jump = None;
                if let Some(v) = self.next_child(f)? {
                    f.current = v;
                    from = f.start;
                    self.descend(v)?;
                    continue 'node;
                }
                frames.pop();
            }
        }
    }

    fn descend(&mut self, v: u32) -> Result<()> {
        let size = self.part.size(self.part.cell[v as usize]);
        let twins_only = self.known.all_twins(v, size);
        self.path.push(v);
        self.on_path[v as usize] = true;
        self.known.pin(v);
        self.part.individualise(self.g, v, twins_only, self.meter)
    }

    /// The next child of `f` not in the orbit of a tried one, if any.
    fn next_child(&mut self, f: &mut Frame) -> Result<Option<u32>> {
        if f.reps.is_none() && self.known.all_twins(f.tried[0], self.part.size(f.cell)) {
            f.reps = Some(Vec::new()); // the first child stands for all
        }
        if f.reps.is_none() {
            // One child per key; the first child (the smallest vertex) has its key's.
            self.generation += 1;
            let mut reps = Vec::new();
            for &v in self.part.members(f.cell) {
                let k = self.known.key(v) as usize;
                if self.stamp[k] != self.generation {
                    self.stamp[k] = self.generation;
                    self.rep_of[k] = v;
                    reps.push(k as u32);
                } else if v < self.rep_of[k] {
                    self.rep_of[k] = v;
                }
            }
            self.meter.add(self.part.size(f.cell) as u64 * 2)?;
            let mut reps: Vec<u32> = reps.iter().map(|&k| self.rep_of[k as usize]).collect();
            reps.sort_unstable();
            reps.retain(|&v| v != f.tried[0]);
            f.reps = Some(reps);
        }
        let reps = f.reps.as_ref().expect("set above");
        while f.next < reps.len() {
            let v = reps[f.next];
            f.next += 1;
            if !self.in_orbit_of_tried(&mut f.orbits, &f.tried, v)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Whether `v` shares an orbit with a `tried` vertex under the known and
    /// found automorphisms that fix the current path.
    fn in_orbit_of_tried(
        &mut self,
        orbits: &mut Option<(UnionFind, usize)>,
        tried: &[u32],
        v: u32,
    ) -> Result<bool> {
        if self.autos.is_empty() {
            return Ok(false); // keys already differ
        }
        let n = self.g.n();
        if orbits.is_none() {
            {
                let mut uf = UnionFind::new(n);
                self.generation += 1;
                for x in 0..n as u32 {
                    if self.on_path[x as usize] {
                        continue;
                    }
                    let k = self.known.key(x) as usize;
                    if self.stamp[k] != self.generation {
                        self.stamp[k] = self.generation;
                        self.rep_of[k] = x;
                    } else {
                        uf.union(self.rep_of[k], x);
                    }
                }
                self.meter.add(n as u64 * 2)?;
                *orbits = Some((uf, 0));
            }
        }
        let (uf, seen) = orbits.as_mut().expect("built above");
        for a in &self.autos[*seen..] {
            self.meter.add(self.path.len() as u64 + 1)?;
            if self.path.iter().all(|&p| a[p as usize] == p) {
                for (x, &y) in a.iter().enumerate() {
                    uf.union(x as u32, y);
                }
                self.meter.add(n as u64 * 2)?;
            }
        }
        *seen = self.autos.len();
        let r = uf.find(v);
        Ok(tried.iter().any(|&t| uf.find(t) == r))
    }

    /// Evaluates a leaf. `Some(k)`: it equalled the best leaf, with which it
    /// shares the first `k` individualised vertices.
    fn leaf(&mut self) -> Result<Option<usize>> {
        let n = self.g.n();
        self.meter.add((2 * n + 4 * self.g.m()) as u64)?;
        let pos = &self.part.pos;
        let mut form: Vec<(u32, u32)> = Vec::with_capacity(self.g.m());
        for (p, &v) in self.part.lab.iter().enumerate() {
            let row = form.len();
            form.extend(self.g.out(v).iter().map(|&w| (p as u32, pos[w as usize])));
            form[row..].sort_unstable();
        }
        let Some((best_form, best_order)) = &self.best else {
            self.best = Some((form, self.part.lab.clone()));
            self.best_path = self.path.clone();
            return Ok(None);
        };
        match form.cmp(best_form) {
            std::cmp::Ordering::Less => {
                self.best = Some((form, self.part.lab.clone()));
                self.best_path = self.path.clone();
                Ok(None)
            }
            std::cmp::Ordering::Equal => {
                // vertex at position p here <-> best leaf's vertex at position p
                let a: Vec<u32> = (0..n).map(|v| best_order[pos[v] as usize]).collect();
                let room = self.autos.len() < (AUTO_ENTRIES / n.max(1)).max(64);
                if room && a.iter().enumerate().any(|(v, &x)| v as u32 != x) {
                    self.autos.push(a);
                }
                // the automorphism fixes the common prefix and maps the best
                // leaf's branch below it (searched to the end: it came first) onto ours
                let k = self
                    .path
                    .iter()
                    .zip(&self.best_path)
                    .take_while(|(a, b)| a == b)
                    .count();
                Ok(Some(k))
            }
            std::cmp::Ordering::Greater => Ok(None),
        }
    }
}
