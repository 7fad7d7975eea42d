//! Exact canonical forms of labelled directed graphs, and the 128-bit ids
//! derived from them.
//!
//! Individualisation-refinement, as nauty and bliss do it:
//! 1. colour vertices by label, then refine to an equitable partition (colour
//!    refinement over in- and out-neighbour colours, cells kept in canonical order);
//! 2. while some cell has several vertices, branch on each vertex of the first
//!    such cell (individualise it, refine again);
//! 3. every leaf is a discrete partition, i.e. a numbering of the vertices; the
//!    canonical form is the smallest edge list over all leaves.
//!
//! The form is defined by that tree alone (the refinement's exact cell order,
//! the target cell, the minimum over leaves), so everything that makes the
//! search fast must leave the tree's leaf set and its minimum untouched:
//! - [`partition`]: refinement that only revisits what the last round changed,
//!   giving the same ordered cells as recomputing every signature each round
//!   (which was quadratic on long chains);
//! - [`symmetry`]: automorphisms known before the search (twins, identical
//!   components) prune it from the first node, so graphs made of hundreds of
//!   interchangeable nodes take one path instead of one path per automorphism;
//! - [`search`]: orbit pruning with those and the automorphisms found on the
//!   way, and backjumping (a leaf equal to the best one abandons its branch);
//! - [`meter`]: a deterministic work budget ([`WORK_BUDGET`]) past which a
//!   search fails with [`Error::CanonBudget`] instead of running for minutes,
//!   and the polls of the cancel flag of [`canonical_form_cancellable`].
//!
//! Two graphs get the same id iff they are isomorphic (respecting labels and
//! edge direction), up to a 2^-128-scale chance of a hash collision. The id is
//! `murmur3_128` of a versioned byte encoding of the form and never changes
//! within a major version: `tests/canon_props.rs` checks it against the
//! original search, kept verbatim in `tests/reference`.

mod digraph;
mod meter;
mod partition;
mod search;
mod symmetry;

use crate::control::Control;
use crate::error::{Error, Result};
use crate::hash::{murmur3_128, SEED};

pub use meter::WORK_BUDGET;

/// Largest graph [`canonical_form`] accepts; larger graphs raise
/// [`Error::TooManyNodes`].
pub const MAX_CANON_NODES: usize = 4096;

/// A canonical labelling: `order[p]` is the vertex placed at position `p`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canon {
    pub id: u128,
    pub order: Vec<u32>,
}

/// Never cancelled: for callers without a [`Control`].
static NO_CONTROL: Control = Control::new();

/// The canonical form of the graph with vertex `labels` and directed `edges`
/// (duplicates ignored). Vertices are `0..labels.len()`.
pub fn canonical_form(labels: &[u64], edges: &[(u32, u32)]) -> Result<Canon> {
    canonical_form_cancellable(labels, edges, &NO_CONTROL)
}

/// [`canonical_form`] that fails with [`Error::Interrupted`] soon after
/// `ctl` is cancelled.
pub fn canonical_form_cancellable(
    labels: &[u64],
    edges: &[(u32, u32)],
    ctl: &Control,
) -> Result<Canon> {
    canonicalise(labels, edges, ctl, WORK_BUDGET).map(|(c, _)| c)
}

/// The canonical form and the work it took, within `budget` units.
fn canonicalise(
    labels: &[u64],
    edges: &[(u32, u32)],
    ctl: &Control,
    budget: u64,
) -> Result<(Canon, u64)> {
    let n = labels.len();
    if n > MAX_CANON_NODES {
        return Err(Error::TooManyNodes {
            num_nodes: n,
            max: MAX_CANON_NODES,
        });
    }
    let g = digraph::Digraph::new(labels, edges);
    let mut meter = meter::Meter::new(ctl, n, budget);
    meter.fits(meter::unavoidable(n, g.m()))?;
    let (out, _) = search::canonical(&g, &mut meter, 0)?;
    let id = encode_id(labels, &out.order, &out.form);
    Ok((
        Canon {
            id,
            order: out.order,
        },
        meter.used(),
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn id(labels: &[u64], edges: &[(u32, u32)]) -> u128 {
        canonical_form(labels, edges).unwrap().id
    }

    #[test]
    fn permuted_graphs_share_an_id() {
        let a = id(&[1, 2, 2, 3], &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        let b = id(&[3, 2, 1, 2], &[(2, 1), (2, 3), (1, 0), (3, 0)]);
        assert_eq!(a, b);
    }

    #[test]
    fn direction_and_labels_matter() {
        assert_ne!(id(&[1, 2], &[(0, 1)]), id(&[1, 2], &[(1, 0)]));
        assert_ne!(id(&[1, 1], &[(0, 1)]), id(&[1, 2], &[(0, 1)]));
        assert_ne!(id(&[1, 1], &[(0, 1)]), id(&[1, 1], &[]));
    }

    #[test]
    fn order_is_a_permutation_that_reproduces_the_form() {
        let c = canonical_form(&[5, 5, 7], &[(0, 2), (1, 2)]).unwrap();
        let mut o = c.order.clone();
        o.sort_unstable();
        assert_eq!(o, vec![0, 1, 2]);
        assert_eq!(c.order[2], 2); // the label-7 vertex sorts last
    }

    /// C6 and two C3 (as "edge nodes" between vertex nodes): colour refinement
    /// (1-WL) cannot tell them apart; the canonical form must.
    #[test]
    fn separates_wl_equivalent_graphs() {
        fn incidence(cycles: &[&[u32]]) -> (Vec<u64>, Vec<(u32, u32)>) {
            let n: usize = cycles.iter().map(|c| c.len()).sum();
            let mut labels = vec![1u64; n];
            let mut edges = Vec::new();
            for c in cycles {
                for i in 0..c.len() {
                    let e = labels.len() as u32;
                    labels.push(2);
                    edges.push((c[i], e));
                    edges.push((c[(i + 1) % c.len()], e));
                }
            }
            (labels, edges)
        }
        let (l1, e1) = incidence(&[&[0, 1, 2, 3, 4, 5]]);
        let (l2, e2) = incidence(&[&[0, 1, 2], &[3, 4, 5]]);
        assert_ne!(id(&l1, &e1), id(&l2, &e2));
    }

    #[test]
    fn many_parallel_identical_branches_stay_cheap() {
        // source -> 12 branches of (a -> b) -> sink: |Aut| = 12!
        let mut labels = vec![0u64];
        let mut edges = Vec::new();
        let sink = 1 + 2 * 12;
        for i in 0..12u32 {
            labels.push(1);
            labels.push(2);
            let a = 1 + 2 * i;
            edges.push((0, a));
            edges.push((a, a + 1));
            edges.push((a + 1, sink));
        }
        labels.push(3);
        assert!(canonical_form(&labels, &edges).is_ok());
    }

    #[test]
    fn many_interchangeable_inputs_stay_cheap() {
        // 48 isolated copies of one op, and one op reading 48 copies of another:
        // found by fuzzing, these took time growing like n^5 before backjumping
        // (48 isolated nodes: 17 s in a release build; 64: minutes). Now milliseconds.
        let n = 48u32;
        let isolated = vec![7u64; n as usize];
        assert_ne!(id(&isolated, &[]), id(&isolated[1..], &[]));
        let mut labels = vec![1u64; n as usize];
        labels.push(2);
        let star: Vec<(u32, u32)> = (0..n).map(|i| (i, n)).collect();
        // the same star with the hub first: a relabelling, so the same id
        let mut relabelled = vec![2u64];
        relabelled.extend(std::iter::repeat_n(1u64, n as usize));
        let hub_first: Vec<(u32, u32)> = (1..=n).map(|i| (i, 0)).collect();
        assert_eq!(id(&labels, &star), id(&relabelled, &hub_first));
        let reversed: Vec<(u32, u32)> = (0..n).map(|i| (n, i)).collect();
        assert_ne!(id(&labels, &star), id(&labels, &reversed));
    }

    /// The probe shapes of the hardening: graphs of up to 4,096 nodes made of
    /// interchangeable nodes, each canonicalised well inside the work budget
    /// (before: 512 isolated nodes took 50 s, 1,024 had no answer in minutes).
    mod probes {
        use super::*;

        type Graph = (Vec<u64>, Vec<(u32, u32)>);

        pub fn isolated(n: usize) -> Graph {
            (vec![7; n], vec![])
        }

        pub fn diamonds(k: u32) -> Graph {
            let labels = (0..k).flat_map(|_| [1, 2, 2, 3]).collect();
            let edges = (0..k)
                .flat_map(|i| {
                    let a = 4 * i;
                    [(a, a + 1), (a, a + 2), (a + 1, a + 3), (a + 2, a + 3)]
                })
                .collect();
            (labels, edges)
        }

        /// `fanout = None`: each layer fully connected to the next; else that
        /// many pseudo-random successors per node.
        pub fn layered(layers: u32, width: u32, fanout: Option<u32>) -> Graph {
            let mut edges = Vec::new();
            let mut s = 12345u64;
            for l in 0..layers - 1 {
                for i in 0..width {
                    let (v, next) = (l * width + i, (l + 1) * width);
                    match fanout {
                        None => edges.extend((0..width).map(|j| (v, next + j))),
                        Some(f) => {
                            for _ in 0..f {
                                s = s
                                    .wrapping_mul(6364136223846793005)
                                    .wrapping_add(1442695040888963407);
                                edges.push((v, next + (s >> 33) as u32 % width));
                            }
                        }
                    }
                }
            }
            (vec![7; (layers * width) as usize], edges)
        }

        pub fn chain(n: u32) -> Graph {
            (vec![7; n as usize], (1..n).map(|i| (i - 1, i)).collect())
        }

        pub fn star(leaves: u32) -> Graph {
            (
                vec![7; leaves as usize + 1],
                (1..=leaves).map(|i| (0, i)).collect(),
            )
        }

        /// Two automorphic sources that are not twins (each has a private
        /// successor), both feeding `k` identical branches `a -> b -> sink`:
        /// the branches are interchangeable only once a source is individualised,
        /// which the known symmetry does not see, so each costs a search path.
        pub fn hidden_branches(k: u32) -> Graph {
            let mut labels = vec![0u64, 0, 4, 4];
            let mut edges = vec![(0, 2), (1, 3)];
            let sink = 4 + 2 * k;
            for i in 0..k {
                let a = 4 + 2 * i;
                labels.extend([1, 2]);
                edges.extend([(0, a), (1, a), (a, a + 1), (a + 1, sink)]);
            }
            labels.push(3);
            (labels, edges)
        }

        /// Canonicalises `g` and a shuffled copy: same id, within half the
        /// budget, and no less than the work refused up front as unavoidable.
        fn check((labels, edges): Graph) {
            let n = labels.len() as u32;
            let (c, used) = canonicalise(&labels, &edges, &NO_CONTROL, WORK_BUDGET).unwrap();
            assert!(used < WORK_BUDGET / 2, "{used} work units");
            let m = digraph::Digraph::new(&labels, &edges).m();
            assert!(
                used >= meter::unavoidable(n as usize, m),
                "{used} work units"
            );
            // reversed and rotated: a permutation for every n
            let perm: Vec<u32> = (0..n).map(|v| (2 * n - 1 - v + n / 3) % n).collect();
            let mut l2 = vec![0; n as usize];
            for v in 0..n as usize {
                l2[perm[v] as usize] = labels[v];
            }
            let e2: Vec<(u32, u32)> = edges
                .iter()
                .map(|&(a, b)| (perm[a as usize], perm[b as usize]))
                .collect();
            assert_eq!(canonical_form(&l2, &e2).unwrap().id, c.id);
        }

        #[test]
        fn isolated_nodes() {
            for n in [64, 256, 512, 1024, 4096] {
                check(isolated(n));
            }
        }

        #[test]
        fn diamond_copies() {
            check(diamonds(1024));
        }

        #[test]
        fn layered_graphs() {
            check(layered(64, 64, None));
            check(layered(64, 64, Some(2)));
            check(layered(64, 64, Some(1)));
        }

        #[test]
        fn uniform_chain() {
            check(chain(4096));
        }

        #[test]
        fn star_with_identical_leaves() {
            check(star(4095));
        }

        #[test]
        fn branches_behind_twin_sources() {
            // the sources of `hidden_branches` made twins: known symmetry again
            let (mut labels, mut edges) = hidden_branches(1000);
            labels[3] = 5; // z1 differs from z0 ...
            edges.retain(|&e| e != (1, 3));
            edges.push((1, 2)); // ... and both sources feed z0: twins
            check((labels, edges));
        }
    }

    #[test]
    fn past_the_budget_is_a_limit_error_naming_it() {
        let (labels, edges) = probes::hidden_branches(1000);
        let e = canonical_form(&labels, &edges).unwrap_err();
        let want = Error::CanonBudget {
            num_nodes: 2005,
            budget: WORK_BUDGET,
        };
        assert_eq!(e, want);
        assert_eq!(e.kind(), crate::ErrorKind::Limit);
        assert!(
            e.to_string().contains("budget of 134217728 work units"),
            "{e}"
        );
        // work, not time: the same graph is refused again, and a smaller one is not
        assert_eq!(canonical_form(&labels, &edges).unwrap_err(), want);
        let (labels, edges) = probes::hidden_branches(64);
        assert!(canonical_form(&labels, &edges).is_ok());
    }

    #[test]
    fn graphs_too_big_for_the_budget_are_refused_up_front() {
        let (labels, edges) = probes::chain(100);
        let least = meter::unavoidable(100, 99);
        let e = canonicalise(&labels, &edges, &NO_CONTROL, least - 1).unwrap_err();
        assert!(matches!(e, Error::CanonBudget { num_nodes: 100, .. }));
        assert!(canonicalise(&labels, &edges, &NO_CONTROL, WORK_BUDGET).is_ok());
    }

    #[test]
    fn cancellation_interrupts_a_long_search() {
        // Without a budget this search runs for many seconds; cancelled after
        // 50 ms it must stop with Interrupted (it cannot have finished).
        let (labels, edges) = probes::hidden_branches(1000);
        let ctl = Control::new();
        let r = std::thread::scope(|s| {
            let search = s.spawn(|| canonicalise(&labels, &edges, &ctl, u64::MAX));
            std::thread::sleep(std::time::Duration::from_millis(50));
            ctl.cancel();
            search.join().unwrap()
        });
        assert_eq!(r.unwrap_err(), Error::Interrupted);
    }

    #[test]
    fn empty_graph_has_an_id() {
        assert_eq!(id(&[], &[]), id(&[], &[]));
        assert_ne!(id(&[], &[]), id(&[1], &[]));
    }
}
