//! The ordered partition of the search and its refinement, with an undo trail.
//!
//! Cells are contiguous ranges of `lab` (vertices in position order); a
//! vertex's colour is the start position of its cell. Refinement is the one the
//! canonical ids were defined with (`amc1`): synchronous rounds, each sorting
//! every cell by (sorted out-neighbour colours, sorted in-neighbour colours) and
//! numbering the new cells by start position, until a round splits nothing.
//! Recomputing every signature each round is quadratic on long chains (one
//! round per node peeled off each end), so a round here looks only at what the
//! previous round changed, and must give exactly the same ordered cells:
//!
//! - a cell `D` only splits if a neighbour's colour changed, i.e. a neighbour
//!   lies in a cell `X` split by the previous round; before that split all of
//!   `D` had the same number of neighbours in `X` (the previous round made them
//!   equal), so one sub-cell of each split `X` (the largest) can be left out:
//!   its count is the total minus the others' (Hopcroft's trick);
//! - within `D` every vertex has the same degrees, and two sorted colour lists
//!   of equal length compare at the smallest colour whose counts differ, the
//!   list with more of it first. A vertex's key lists (slot, r) for the
//!   sub-cells it touches: `r = -count` for a counted sub-cell, `r = +sum of
//!   those counts` at the left-out one (more there means less elsewhere); a
//!   vertex touching nothing has the all-zero key. Keys compare slot by slot.
//!
//! Undo restores cell membership and bounds, not the order inside a cell:
//! nothing depends on it (cells are sets; members are sorted where it matters).

use std::cmp::Ordering;

use super::digraph::Digraph as Graph;
use super::meter::Meter;
use crate::error::Result;

/// One split, as recorded for undo: `parent` spanned `start..end`; cells
/// `children` were carved out of it (the parent id keeps one sub-cell).
struct Record {
    parent: u32,
    start: u32,
    end: u32,
    children: std::ops::Range<u32>,
}

pub(super) struct Partition {
    /// Vertices in position order.
    pub lab: Vec<u32>,
    pub pos: Vec<u32>,
    /// Cell id of each vertex; cell ids are allocated as a stack.
    pub cell: Vec<u32>,
    pub start: Vec<u32>,
    pub end: Vec<u32>,
    ncells: u32,
    trail: Vec<Record>,
    /// Splits of the last round, for the next: sub-cell ids of each split cell
    /// (in `subcells[groups[i].0..groups[i].1]`) and the one left out.
    subcells: Vec<u32>,
    groups: Vec<(usize, usize, u32)>,
    // scratch, reused across rounds
    omit_of: Vec<u32>,
    inc: Vec<u64>,
    keys: Vec<(u32, i32)>,
    /// (colour, vertex, key start, key end) of each vertex a round touches.
    affected: Vec<(u32, u32, u32, u32)>,
}

/// Marks a slot of the in-neighbour list (out-list slots are bare colours), so
/// slots sort by (direction, colour) as the signatures compare.
const IN: u32 = 1 << 31;

/// Bits of `len`: the log factor of sorting `len` items, for the meter.
fn log2(len: usize) -> u64 {
    u64::from(usize::BITS - len.leading_zeros())
}

/// Orders two sparse keys (see the module header); missing slots hold 0.
fn cmp_keys(a: &[(u32, i32)], b: &[(u32, i32)]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.get(i), b.get(j)) {
            (None, None) => return Ordering::Equal,
            (Some(x), None) => return x.1.cmp(&0),
            (None, Some(y)) => return 0.cmp(&y.1),
            (Some(x), Some(y)) => match x.0.cmp(&y.0) {
                Ordering::Equal if x.1 == y.1 => {
                    i += 1;
                    j += 1;
                }
                Ordering::Equal => return x.1.cmp(&y.1),
                Ordering::Less => return x.1.cmp(&0),
                Ordering::Greater => return 0.cmp(&y.1),
            },
        }
    }
}

impl Partition {
    /// The colouring by label (cells in label order), refined to an equitable
    /// partition.
    pub fn new(g: &Graph, meter: &mut Meter) -> Result<Self> {
        let n = g.n();
        let mut lab: Vec<u32> = (0..n as u32).collect();
        lab.sort_by_key(|&v| g.labels[v as usize]);
        let mut p = Partition {
            lab,
            pos: vec![0; n],
            cell: vec![0; n],
            start: vec![0; n],
            end: vec![0; n],
            ncells: 0,
            trail: Vec::new(),
            subcells: Vec::new(),
            groups: Vec::new(),
            omit_of: vec![0; n],
            inc: Vec::new(),
            keys: Vec::new(),
            affected: Vec::new(),
        };
        let mut s = 0;
        for q in 0..n {
            p.pos[p.lab[q] as usize] = q as u32;
            if q + 1 == n || g.labels[p.lab[q + 1] as usize] != g.labels[p.lab[q] as usize] {
                let c = p.new_cell(s, q as u32 + 1);
                for &v in &p.lab[s as usize..=q] {
                    p.cell[v as usize] = c;
                }
                s = q as u32 + 1;
            }
        }
        meter.add(n as u64)?;
        p.first_round(g, meter)?;
        p.refine(g, meter)?;
        p.trail.clear(); // the root is never undone
        Ok(p)
    }

    fn new_cell(&mut self, start: u32, end: u32) -> u32 {
        let c = self.ncells;
        self.start[c as usize] = start;
        self.end[c as usize] = end;
        self.ncells += 1;
        c
    }

    /// Whether every cell is a single vertex.
    pub fn is_discrete(&self) -> bool {
        self.ncells as usize == self.lab.len()
    }

    pub fn size(&self, c: u32) -> u32 {
        self.end[c as usize] - self.start[c as usize]
    }

    pub fn members(&self, c: u32) -> &[u32] {
        &self.lab[self.start[c as usize] as usize..self.end[c as usize] as usize]
    }

    pub fn colour(&self, v: u32) -> u32 {
        self.start[self.cell[v as usize] as usize]
    }

    /// The first cell (by position) with several vertices, scanning from
    /// position `from` (every cell before it must be a singleton).
    pub fn first_nonsingleton(&self, from: u32, meter: &mut Meter) -> Result<Option<u32>> {
        let mut p = from as usize;
        let mut steps = 0u64;
        let found = loop {
            if p >= self.lab.len() {
                break None;
            }
            let c = self.cell[self.lab[p] as usize];
            if self.size(c) > 1 {
                break Some(c);
            }
            p = self.end[c as usize] as usize;
            steps += 1;
        };
        meter.add(steps)?;
        Ok(found)
    }

    pub fn mark(&self) -> usize {
        self.trail.len()
    }

    /// Undoes every split recorded after `mark`.
    pub fn undo_to(&mut self, mark: usize, meter: &mut Meter) -> Result<()> {
        let mut work = 0u64;
        while self.trail.len() > mark {
            let r = self.trail.pop().expect("longer than mark");
            for c in r.children.clone() {
                let (s, e) = (self.start[c as usize], self.end[c as usize]);
                for &v in &self.lab[s as usize..e as usize] {
                    self.cell[v as usize] = r.parent;
                }
                work += u64::from(e - s);
            }
            self.start[r.parent as usize] = r.start;
            self.end[r.parent as usize] = r.end;
            self.ncells = r.children.start;
        }
        meter.add(work + 1)
    }

    /// Individualises `v` (gives it the start of its cell, the rest of the cell
    /// the next colour) and refines, unless `twins_only`: when the rest of the
    /// cell are twins of `v`, every other cell is adjacent to all of them or to
    /// none (it is equitable), so no count differs and refining splits nothing.
    pub fn individualise(
        &mut self,
        g: &Graph,
        v: u32,
        twins_only: bool,
        meter: &mut Meter,
    ) -> Result<()> {
        let t = self.cell[v as usize];
        let s = self.start[t as usize];
        self.swap_to(v, s);
        let c = self.new_cell(s, s + 1);
        self.cell[v as usize] = c;
        self.trail.push(Record {
            parent: t,
            start: s,
            end: self.end[t as usize],
            children: c..c + 1,
        });
        self.start[t as usize] = s + 1;
        self.subcells.clear();
        self.groups.clear();
        if twins_only {
            return meter.add(16);
        }
        self.subcells.extend([c, t]);
        self.groups.push((0, 2, t));
        self.refine(g, meter)
    }

    fn swap_to(&mut self, v: u32, p: u32) {
        let q = self.pos[v as usize];
        let w = self.lab[p as usize];
        self.lab.swap(p as usize, q as usize);
        self.pos[v as usize] = p;
        self.pos[w as usize] = q;
    }

    /// The root's first round: vertices of one label may differ in degree, so
    /// signatures are compared whole, as sorted colour lists.
    fn first_round(&mut self, g: &Graph, meter: &mut Meter) -> Result<()> {
        let n = g.n();
        // (sorted out-colours, sorted in-colours) of v: buf[at[v].0..at[v].1], buf[at[v].1..at[v].2]
        let mut buf: Vec<u32> = Vec::with_capacity(2 * g.m());
        let mut at: Vec<(u32, u32, u32)> = Vec::with_capacity(n);
        for v in 0..n as u32 {
            let s = buf.len();
            buf.extend(g.out(v).iter().map(|&w| self.colour(w)));
            let mid = buf.len();
            buf.extend(g.inn(v).iter().map(|&w| self.colour(w)));
            buf[s..mid].sort_unstable();
            buf[mid..].sort_unstable();
            at.push((s as u32, mid as u32, buf.len() as u32));
        }
        let sig = |v: u32| {
            let (s, mid, e) = at[v as usize];
            (
                &buf[s as usize..mid as usize],
                &buf[mid as usize..e as usize],
            )
        };
        meter.add(n as u64 * 16 + g.m() as u64 * 8)?;
        self.subcells.clear();
        self.groups.clear();
        for c in 0..self.ncells {
            let (s, e) = (
                self.start[c as usize] as usize,
                self.end[c as usize] as usize,
            );
            let mut members = self.lab[s..e].to_vec();
            members.sort_by(|&a, &b| sig(a).cmp(&sig(b)));
            let runs = runs_by(&members, |a, b| sig(a) == sig(b));
            self.apply_split(c, &members, &runs, None);
        }
        Ok(())
    }

    /// Refines until a round splits nothing, starting from the splits in
    /// `subcells`/`groups` (a discrete partition cannot split: no round).
    fn refine(&mut self, g: &Graph, meter: &mut Meter) -> Result<()> {
        while !self.groups.is_empty() && (self.ncells as usize) < g.n() {
            self.round(g, meter)?;
        }
        self.subcells.clear();
        self.groups.clear();
        Ok(())
    }

    /// One synchronous round: keys of the vertices next to the counted
    /// sub-cells of the last round's splits, then every touched cell split by key.
    fn round(&mut self, g: &Graph, meter: &mut Meter) -> Result<()> {
        self.inc.clear();
        for &(a, b, omit) in &self.groups {
            let z = self.start[omit as usize];
            for &y in &self.subcells[a..b] {
                if y == omit {
                    continue;
                }
                let colour = self.start[y as usize];
                self.omit_of[colour as usize] = z;
                let (s, e) = (colour as usize, self.end[y as usize] as usize);
                for &w in &self.lab[s..e] {
                    // u -> w: w's colour is in u's out-list; w -> u: in-list
                    for &u in g.inn(w) {
                        self.inc.push(u64::from(u) << 32 | u64::from(colour));
                    }
                    for &u in g.out(w) {
                        self.inc.push(u64::from(u) << 32 | u64::from(IN | colour));
                    }
                }
            }
        }
        meter.add(self.inc.len() as u64 * (2 + 2 * log2(self.inc.len())) + 16)?;
        self.inc.sort_unstable();
        // Per affected vertex: its key in `keys[k0..k1]`.
        self.keys.clear();
        self.affected.clear();
        let mut i = 0;
        while i < self.inc.len() {
            let u = (self.inc[i] >> 32) as u32;
            let k0 = self.keys.len() as u32;
            let mut sum = 0i32;
            while i < self.inc.len() && (self.inc[i] >> 32) as u32 == u {
                let slot = self.inc[i] as u32;
                let mut count = 0i32;
                while i < self.inc.len()
                    && self.inc[i] as u32 == slot
                    && (self.inc[i] >> 32) as u32 == u
                {
                    count += 1;
                    i += 1;
                }
                self.keys.push((slot, -count));
                sum += count;
                // the run of one (direction, split cell) ends here: its left-out slot
                let (dir, colour) = (slot & IN, slot & !IN);
                let z = self.omit_of[colour as usize];
                let next = (i < self.inc.len() && (self.inc[i] >> 32) as u32 == u)
                    .then(|| self.inc[i] as u32);
                let same_run =
                    next.is_some_and(|s| s & IN == dir && self.omit_of[(s & !IN) as usize] == z);
                if !same_run {
                    // never a counted slot: the left-out sub-cell adds no incidences
                    self.keys.push((dir | z, sum));
                    sum = 0;
                }
            }
            let k1 = self.keys.len() as u32;
            self.keys[k0 as usize..k1 as usize].sort_unstable_by_key(|e| e.0);
            let colour = self.start[self.cell[u as usize] as usize];
            self.affected.push((colour, u, k0, k1));
        }
        meter.add(self.keys.len() as u64 * 2)?;
        let keys = std::mem::take(&mut self.keys);
        let mut affected = std::mem::take(&mut self.affected);
        let key = |e: &(u32, u32, u32, u32)| &keys[e.2 as usize..e.3 as usize];
        // unstable is enough: vertices with equal keys end up in one cell anyway
        affected.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp_keys(key(a), key(b))));
        meter.add(affected.len() as u64 * (4 + 6 * log2(affected.len())))?;
        self.subcells.clear();
        self.groups.clear();
        let mut members: Vec<u32> = Vec::new();
        let mut a = 0;
        while a < affected.len() {
            let d = self.cell[affected[a].1 as usize];
            let mut b = a;
            while b < affected.len() && affected[b].0 == affected[a].0 {
                b += 1;
            }
            let run = &affected[a..b];
            if self.size(d) > 1 {
                members.clear();
                members.extend(run.iter().map(|e| e.1));
                let runs = runs_by_index(run.len(), |x, y| {
                    cmp_keys(key(&run[x]), key(&run[y])) == Ordering::Equal
                });
                // affected vertices with a key below zero go before the untouched ones
                let below = run.partition_point(|e| cmp_keys(key(e), &[]) == Ordering::Less);
                let untouched = self.size(d) as usize - run.len();
                meter.add(run.len() as u64)?;
                self.apply_split(d, &members, &runs, (untouched > 0).then_some(below));
            }
            a = b;
        }
        self.keys = keys;
        self.affected = affected;
        Ok(())
    }

    /// Splits cell `d` into the runs of `sorted` (its vertices, or when
    /// `untouched_at` is `Some(k)`, only the touched ones: the untouched rest
    /// keeps `d`'s id and goes between the `k` first and the others).
    /// Records the split for undo and for the next round.
    fn apply_split(
        &mut self,
        d: u32,
        sorted: &[u32],
        runs: &[(usize, usize)],
        untouched_at: Option<usize>,
    ) {
        if untouched_at.is_none() && runs.len() < 2 {
            return;
        }
        let (s, e) = (self.start[d as usize], self.end[d as usize]);
        let first_child = self.ncells;
        let group_start = self.subcells.len();
        let mut omit = (0u32, d);
        match untouched_at {
            Some(k) => {
                let n_hi = sorted.len() - k;
                for (i, &v) in sorted[..k].iter().enumerate() {
                    self.swap_to(v, s + i as u32);
                }
                for (j, &v) in sorted[k..].iter().enumerate() {
                    self.swap_to(v, e - n_hi as u32 + j as u32);
                }
                let (mid_s, mid_e) = (s + k as u32, e - n_hi as u32);
                let mut placed_mid = false;
                for &(r0, r1) in runs {
                    if r0 >= k && !placed_mid {
                        self.subcells.push(d);
                        placed_mid = true;
                    }
                    let base = if r0 < k { s } else { mid_e - k as u32 };
                    let c = self.new_cell(base + r0 as u32, base + r1 as u32);
                    for &v in &sorted[r0..r1] {
                        self.cell[v as usize] = c;
                    }
                    self.subcells.push(c);
                    if (r1 - r0) as u32 > omit.0 {
                        omit = ((r1 - r0) as u32, c);
                    }
                }
                if !placed_mid {
                    self.subcells.push(d);
                }
                if mid_e - mid_s >= omit.0 {
                    omit = (mid_e - mid_s, d);
                }
                self.start[d as usize] = mid_s;
                self.end[d as usize] = mid_e;
            }
            None => {
                self.lab[s as usize..e as usize].copy_from_slice(sorted);
                for (i, &v) in sorted.iter().enumerate() {
                    self.pos[v as usize] = s + i as u32;
                }
                // the largest run keeps the parent's id (fewest relabelled vertices)
                let largest = (0..runs.len())
                    .max_by_key(|&r| (runs[r].1 - runs[r].0, std::cmp::Reverse(r)))
                    .expect("two runs or more");
                for (r, &(r0, r1)) in runs.iter().enumerate() {
                    let (cs, ce) = (s + r0 as u32, s + r1 as u32);
                    let c = if r == largest {
                        self.start[d as usize] = cs;
                        self.end[d as usize] = ce;
                        d
                    } else {
                        let c = self.new_cell(cs, ce);
                        for &v in &sorted[r0..r1] {
                            self.cell[v as usize] = c;
                        }
                        c
                    };
                    self.subcells.push(c);
                }
                omit = (0, d);
            }
        }
        self.groups.push((group_start, self.subcells.len(), omit.1));
        self.trail.push(Record {
            parent: d,
            start: s,
            end: e,
            children: first_child..self.ncells,
        });
    }
}

/// Maximal runs of equal neighbours in `items` (by `same`), as index ranges.
fn runs_by(items: &[u32], same: impl Fn(u32, u32) -> bool) -> Vec<(usize, usize)> {
    runs_by_index(items.len(), |x, y| same(items[x], items[y]))
}

fn runs_by_index(len: usize, same: impl Fn(usize, usize) -> bool) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut r0 = 0;
    for x in 1..=len {
        if x == len || !same(x - 1, x) {
            runs.push((r0, x));
            r0 = x;
        }
    }
    runs
}
