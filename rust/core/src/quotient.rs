//! Quotient graphs: contracting a DAG by a partition of its nodes.
//!
//! A partition is *convex* when no path leaves a part and re-enters it; the
//! quotient of a DAG is a DAG exactly when every cycle it could have is absent,
//! which is what [`Quotient::new`] checks (a non-convex part, or two parts that
//! are each convex but reach each other, both show up as a quotient cycle).

use rayon::prelude::*;

use crate::graph::Dag;

/// Graphs with fewer nodes are contracted on the calling thread.
const PARALLEL_NODES: usize = 1 << 16;

/// Contracted edges with multiplicities, sorted by (source, target).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quotient {
    pub edges: Vec<(u32, u32)>,
    /// How many original edges each contracted edge stands for.
    pub weights: Vec<u32>,
}

impl Quotient {
    /// Contracts `dag` by `part` (a part index per node, `< num_parts`).
    pub fn new(dag: &Dag, part: &[u32]) -> Quotient {
        let crossing = move |s: u32| {
            dag.successors(s).iter().filter_map(move |&d| {
                let (a, b) = (part[s as usize], part[d as usize]);
                (a != b).then_some((a, b))
            })
        };
        let nodes = 0..dag.num_nodes() as u32;
        // equal pairs are identical, so either sort is deterministic; a graph
        // of a corpus (most are small, each on its own thread) is not split
        let e = if dag.num_nodes() < PARALLEL_NODES {
            let mut e: Vec<(u32, u32)> = nodes.flat_map(crossing).collect();
            e.sort_unstable();
            e
        } else {
            let mut e: Vec<(u32, u32)> = nodes.into_par_iter().flat_map_iter(crossing).collect();
            e.par_sort_unstable();
            e
        };
        let mut q = Quotient::default();
        for pair in e {
            if q.edges.last() == Some(&pair) {
                *q.weights.last_mut().expect("non-empty") += 1;
            } else {
                q.edges.push(pair);
                q.weights.push(1);
            }
        }
        q
    }

    /// The parts of the cyclic core (a superset of the parts on cycles),
    /// ascending; empty when the quotient is a DAG.
    pub fn parts_on_cycles(&self, num_parts: usize) -> Vec<u32> {
        let mut out: Vec<u32> = self.cyclic_components(num_parts).concat();
        out.sort_unstable();
        out
    }

    /// The cyclic core: parts left after repeatedly removing sources and then
    /// sinks (iterative, so long chains cannot overflow the stack). Every part
    /// on a cycle is in the core, and every part of the core has a successor
    /// and a predecessor in it. Empty for a DAG.
    fn cyclic_core(&self, num_parts: usize) -> Vec<bool> {
        let n = num_parts;
        let mut alive = vec![true; n];
        let mut out_off = vec![0usize; n + 1];
        let mut in_off = vec![0usize; n + 1];
        for &(a, b) in &self.edges {
            out_off[a as usize + 1] += 1;
            in_off[b as usize + 1] += 1;
        }
        for i in 0..n {
            out_off[i + 1] += out_off[i];
            in_off[i + 1] += in_off[i];
        }
        let mut ins = vec![0u32; self.edges.len()];
        let mut fill = in_off.clone();
        for &(a, b) in &self.edges {
            ins[fill[b as usize]] = a;
            fill[b as usize] += 1;
        }
        let outs: Vec<u32> = self.edges.iter().map(|&(_, b)| b).collect(); // sorted by source
        for forward in [true, false] {
            let (off, adj, rev_off) = if forward {
                (&out_off, &outs, &in_off)
            } else {
                (&in_off, &ins, &out_off)
            };
            // degree counted over live neighbours on the "incoming" side
            let mut deg: Vec<u32> = (0..n)
                .map(|v| {
                    let (lo, hi) = (rev_off[v], rev_off[v + 1]);
                    let nb = if forward { &ins[lo..hi] } else { &outs[lo..hi] };
                    nb.iter().filter(|&&u| alive[u as usize]).count() as u32
                })
                .collect();
            let mut queue: Vec<u32> = (0..n as u32)
                .filter(|&v| alive[v as usize] && deg[v as usize] == 0)
                .collect();
            while let Some(v) = queue.pop() {
                alive[v as usize] = false;
                for &w in &adj[off[v as usize]..off[v as usize + 1]] {
                    if alive[w as usize] {
                        deg[w as usize] -= 1;
                        if deg[w as usize] == 0 {
                            queue.push(w);
                        }
                    }
                }
            }
        }
        alive
    }

    /// Weakly connected components of the cyclic core, each sorted, ordered
    /// by smallest part; empty when the quotient is a DAG.
    pub fn cyclic_components(&self, num_parts: usize) -> Vec<Vec<u32>> {
        let core = self.cyclic_core(num_parts);
        if !core.iter().any(|&c| c) {
            return Vec::new();
        }
        let mut parent: Vec<u32> = (0..num_parts as u32).collect();
        fn find(p: &mut [u32], mut x: u32) -> u32 {
            while p[x as usize] != x {
                p[x as usize] = p[p[x as usize] as usize];
                x = p[x as usize];
            }
            x
        }
        for &(a, b) in &self.edges {
            if core[a as usize] && core[b as usize] {
                let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                if ra != rb {
                    parent[ra.max(rb) as usize] = ra.min(rb);
                }
            }
        }
        let mut comps: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for v in 0..num_parts as u32 {
            if core[v as usize] {
                let r = find(&mut parent, v);
                comps.entry(r).or_default().push(v);
            }
        }
        comps.into_values().collect()
    }

    /// One cycle of the quotient as a list of parts (starting at its smallest
    /// part), or `None` for a DAG.
    pub fn find_cycle(&self, num_parts: usize) -> Option<Vec<u32>> {
        let on = self.parts_on_cycles(num_parts);
        let &start = on.first()?;
        let in_scc: std::collections::HashSet<u32> = on.iter().copied().collect();
        // Walk successors inside the core (each has one) until a part repeats.
        let mut seen = std::collections::HashMap::new();
        let mut walk = Vec::new();
        let mut v = start;
        loop {
            if let Some(&i) = seen.get(&v) {
                let mut cycle: Vec<u32> = walk[i..].to_vec();
                let pos = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|&(_, &x)| x)
                    .map_or(0, |(i, _)| i);
                cycle.rotate_left(pos);
                return Some(cycle);
            }
            seen.insert(v, walk.len());
            walk.push(v);
            let lo = self.edges.partition_point(|&(a, _)| a < v);
            v = self.edges[lo..]
                .iter()
                .take_while(|&&(a, _)| a == v)
                .map(|&(_, b)| b)
                .find(|b| in_scc.contains(b))
                .expect("a part of the cyclic core has a successor in it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(n: usize, edges: &[(i64, i64)]) -> Dag {
        let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
        Dag::validate(1, &vec![0; n], &s, &d).unwrap().dag
    }

    #[test]
    fn weights_count_parallel_edges() {
        let g = dag(4, &[(0, 2), (1, 2), (1, 3), (0, 1)]);
        let q = Quotient::new(&g, &[0, 0, 1, 1]);
        assert_eq!(q.edges, vec![(0, 1)]);
        assert_eq!(q.weights, vec![3]);
        assert!(q.parts_on_cycles(2).is_empty());
    }

    #[test]
    fn a_million_part_chain_needs_no_deep_stack() {
        let n = 1_000_000u32;
        let mut q = Quotient::default();
        q.edges = (0..n - 1).map(|i| (i, i + 1)).collect();
        q.weights = vec![1; q.edges.len()];
        assert!(q.cyclic_components(n as usize).is_empty());
        q.edges.push((n - 1, 0));
        assert_eq!(q.cyclic_components(n as usize)[0].len(), n as usize);
        assert_eq!(q.find_cycle(n as usize).unwrap().len(), n as usize);
    }

    #[test]
    fn only_the_cycle_and_what_lies_between_cycles_is_in_the_core() {
        // 0 -> 1 -> 2 -> 1 (cycle {1, 2}), 2 -> 3 (tail), 4 -> 1 (head)
        let q = Quotient {
            edges: vec![(0, 1), (1, 2), (2, 1), (2, 3), (4, 1)],
            weights: vec![1; 5],
        };
        assert_eq!(q.cyclic_components(5), vec![vec![1, 2]]);
        assert_eq!(q.find_cycle(5), Some(vec![1, 2]));
    }

    #[test]
    fn non_convex_part_shows_as_a_cycle() {
        // 0 -> 1 -> 2 with {0, 2} together: the path leaves the part and re-enters.
        let g = dag(3, &[(0, 1), (1, 2)]);
        let q = Quotient::new(&g, &[0, 1, 0]);
        assert_eq!(q.find_cycle(2), Some(vec![0, 1]));
    }
}
