//! The canonical form as first defined (`amc1`, before the search was made
//! fast on symmetric graphs), kept verbatim as the oracle of id stability:
//! every graph it handles must keep its id. Only the error type differs.
#![allow(dead_code)]

use archmotif_core::hash::{murmur3_128, SEED};

type Result<T> = std::result::Result<T, ()>;

/// Most search-tree leaves examined before giving up.
pub const LEAF_BUDGET: usize = 200_000;

/// A canonical labelling: `order[p]` is the vertex placed at position `p`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canon {
    pub id: u128,
    pub order: Vec<u32>,
}

/// The best leaf so far: its sorted edge form and its vertex order.
type Leaf = (Vec<(u32, u32)>, Vec<u32>);

struct Search<'a> {
    labels: &'a [u64],
    out: Vec<Vec<u32>>,
    inn: Vec<Vec<u32>>,
    best: Option<Leaf>,
    /// The individualised vertices on the way to the best leaf.
    best_path: Vec<u32>,
    autos: Vec<Vec<u32>>,
    leaves: usize,
}

impl Search<'_> {
    /// Splits cells until the partition is equitable. Colours are the start
    /// positions of cells in the ordered partition, so splitting keeps order.
    fn refine(&self, colour: &mut [u32]) {
        let n = colour.len();
        let mut idx: Vec<u32> = (0..n as u32).collect();
        let mut cells = count_cells(colour);
        loop {
            let sig: Vec<(u32, Vec<u32>, Vec<u32>)> = (0..n)
                .map(|v| {
                    let mut o: Vec<u32> = self.out[v].iter().map(|&w| colour[w as usize]).collect();
                    let mut i: Vec<u32> = self.inn[v].iter().map(|&w| colour[w as usize]).collect();
                    o.sort_unstable();
                    i.sort_unstable();
                    (colour[v], o, i)
                })
                .collect();
            idx.sort_by(|&a, &b| sig[a as usize].cmp(&sig[b as usize]));
            let mut start = 0u32;
            for p in 0..n {
                if p > 0 && sig[idx[p] as usize] != sig[idx[p - 1] as usize] {
                    start = p as u32;
                }
                colour[idx[p] as usize] = start;
            }
            let now = count_cells(colour);
            if now == cells {
                return;
            }
            cells = now;
        }
    }

    /// Searches below `prefix`. `Some(k)`: a leaf below equalled the best leaf,
    /// with which it shares the first `k` individualised vertices; the branch
    /// taken at depth `k` is done.
    fn visit(&mut self, mut colour: Vec<u32>, prefix: &mut Vec<u32>) -> Result<Option<usize>> {
        self.refine(&mut colour);
        let n = colour.len();
        // Target cell: the first (smallest colour) with more than one vertex.
        let mut size = vec![0u32; n];
        for &c in &colour {
            size[c as usize] += 1;
        }
        let Some(target) = (0..n).find(|&c| size[c] > 1) else {
            return self.leaf(&colour, prefix);
        };
        let cell: Vec<u32> = (0..n as u32)
            .filter(|&v| colour[v as usize] as usize == target)
            .collect();
        let mut tried: Vec<u32> = Vec::new();
        for &v in &cell {
            if !tried.is_empty() && self.in_orbit_of(v, &tried, prefix, n) {
                continue;
            }
            let mut child = colour.clone();
            for &w in &cell {
                if w != v {
                    child[w as usize] = target as u32 + 1;
                }
            }
            prefix.push(v);
            let jump = self.visit(child, prefix)?;
            prefix.pop();
            tried.push(v);
            if let Some(k) = jump.filter(|&k| k < prefix.len()) {
                return Ok(Some(k)); // the branch to abandon is further up
            }
        }
        Ok(None)
    }

    /// Whether `v` shares an orbit with a vertex of `tried` under the
    /// automorphisms found so far that fix every vertex of `prefix`.
    fn in_orbit_of(&self, v: u32, tried: &[u32], prefix: &[u32], n: usize) -> bool {
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(p: &mut [u32], mut x: u32) -> u32 {
            while p[x as usize] != x {
                p[x as usize] = p[p[x as usize] as usize];
                x = p[x as usize];
            }
            x
        }
        let mut any = false;
        for g in &self.autos {
            if prefix.iter().all(|&p| g[p as usize] == p) {
                any = true;
                for x in 0..n as u32 {
                    let (a, b) = (find(&mut parent, x), find(&mut parent, g[x as usize]));
                    if a != b {
                        parent[a as usize] = b;
                    }
                }
            }
        }
        if !any {
            return false;
        }
        let rv = find(&mut parent, v);
        tried.iter().any(|&t| find(&mut parent, t) == rv)
    }

    fn leaf(&mut self, colour: &[u32], path: &[u32]) -> Result<Option<usize>> {
        self.leaves += 1;
        if self.leaves > LEAF_BUDGET {
            return Err(());
        }
        let n = colour.len();
        let mut order = vec![0u32; n];
        for v in 0..n {
            order[colour[v] as usize] = v as u32;
        }
        let mut form: Vec<(u32, u32)> = Vec::with_capacity(self.out.iter().map(Vec::len).sum());
        for (v, succ) in self.out.iter().enumerate() {
            for &w in succ {
                form.push((colour[v], colour[w as usize]));
            }
        }
        form.sort_unstable();
        let better = match &self.best {
            None => true,
            Some((best_form, best_order)) => match form.cmp(best_form) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Equal => {
                    // leaf vertex at position p <-> best vertex at position p
                    let g: Vec<u32> = (0..n).map(|v| best_order[colour[v] as usize]).collect();
                    if g.iter().enumerate().any(|(v, &x)| v as u32 != x) {
                        self.autos.push(g);
                    }
                    // g fixes the common prefix and maps the best leaf's branch
                    // below it (searched to the end: it came first) onto ours.
                    let k = path
                        .iter()
                        .zip(&self.best_path)
                        .take_while(|(a, b)| a == b)
                        .count();
                    return Ok(Some(k));
                }
                std::cmp::Ordering::Greater => false,
            },
        };
        if better {
            self.best = Some((form, order));
            self.best_path = path.to_vec();
        }
        Ok(None)
    }
}

fn count_cells(colour: &[u32]) -> usize {
    // colours are cell start positions: a cell starts at p iff some vertex has colour p
    let mut seen = vec![false; colour.len()];
    let mut k = 0;
    for &c in colour {
        if !seen[c as usize] {
            seen[c as usize] = true;
            k += 1;
        }
    }
    k
}

/// The canonical form of the graph with vertex `labels` and directed `edges`
/// (duplicates ignored). Vertices are `0..labels.len()`.
pub fn canonical_form(labels: &[u64], edges: &[(u32, u32)]) -> Result<Canon> {
    let n = labels.len();
    let mut out = vec![Vec::new(); n];
    let mut inn = vec![Vec::new(); n];
    for &(s, d) in edges {
        out[s as usize].push(d);
        inn[d as usize].push(s);
    }
    for row in out.iter_mut().chain(inn.iter_mut()) {
        row.sort_unstable();
        row.dedup();
    }
    // Initial colouring by label, cells ordered by label value.
    let mut idx: Vec<u32> = (0..n as u32).collect();
    idx.sort_by_key(|&v| labels[v as usize]);
    let mut colour = vec![0u32; n];
    let mut start = 0u32;
    for p in 0..n {
        if p > 0 && labels[idx[p] as usize] != labels[idx[p - 1] as usize] {
            start = p as u32;
        }
        colour[idx[p] as usize] = start;
    }
    let mut search = Search {
        labels,
        out,
        inn,
        best: None,
        best_path: Vec::new(),
        autos: Vec::new(),
        leaves: 0,
    };
    search.visit(colour, &mut Vec::new())?;
    let (form, order) = search.best.unwrap_or_default();
    Ok(Canon {
        id: encode_id(search.labels, &order, &form),
        order,
    })
}

/// `murmur3_128` over `b"amc1" | n | m | labels in canonical order | edges`.
fn encode_id(labels: &[u64], order: &[u32], form: &[(u32, u32)]) -> u128 {
    let mut bytes = Vec::with_capacity(12 + 8 * order.len() + 8 * form.len());
    bytes.extend_from_slice(b"amc1");
    bytes.extend_from_slice(&(order.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&(form.len() as u32).to_le_bytes());
    for &v in order {
        bytes.extend_from_slice(&labels[v as usize].to_le_bytes());
    }
    for &(a, b) in form {
        bytes.extend_from_slice(&a.to_le_bytes());
        bytes.extend_from_slice(&b.to_le_bytes());
    }
    murmur3_128(&bytes, SEED)
}
