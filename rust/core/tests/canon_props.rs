//! Property tests of canonical ids: petgraph's VF2 as the oracle of
//! isomorphism, and the original search (`reference`) as the oracle of id
//! stability. Generators include the shapes that make the search hard: twins
//! (interchangeable nodes), repeated components and isolated nodes.

mod reference;

use archmotif_core::canon::{canonical_form, Canon};
use petgraph::algo::is_isomorphic_matching;
use petgraph::graph::DiGraph;
use proptest::prelude::*;

type Graph = (Vec<u64>, Vec<(u32, u32)>);

/// A random DAG on up to `max_n` nodes with labels from `0..num_labels`.
fn dag(max_n: usize, num_labels: u64) -> impl Strategy<Value = Graph> {
    (1..=max_n).prop_flat_map(move |n| {
        let labels = proptest::collection::vec(0..num_labels, n);
        let edges = proptest::collection::vec((0..n as u32, 0..n as u32), 0..3 * n);
        (labels, edges).prop_map(|(l, e)| {
            let mut e: Vec<(u32, u32)> = e
                .into_iter()
                .filter(|(a, b)| a != b)
                .map(|(a, b)| (a.min(b), a.max(b)))
                .collect();
            e.sort_unstable();
            e.dedup();
            (l, e)
        })
    })
}

/// Adds `copies[i]` twins of node `i` (same label, same in- and out-neighbours).
fn add_twins((mut labels, mut edges): Graph, copies: &[usize]) -> Graph {
    let n = labels.len();
    for (v, &k) in copies.iter().enumerate().take(n) {
        for _ in 0..k {
            let t = labels.len() as u32;
            labels.push(labels[v]);
            let twin_edges: Vec<(u32, u32)> = edges
                .iter()
                .filter_map(|&(a, b)| {
                    (a == v as u32)
                        .then_some((t, b))
                        .or((b == v as u32).then_some((a, t)))
                })
                .collect();
            edges.extend(twin_edges);
        }
    }
    (labels, edges)
}

/// The disjoint union of the graphs, in order.
fn union(parts: &[&Graph]) -> Graph {
    let mut labels = Vec::new();
    let mut edges = Vec::new();
    for (l, e) in parts {
        let base = labels.len() as u32;
        labels.extend_from_slice(l);
        edges.extend(e.iter().map(|&(a, b)| (a + base, b + base)));
    }
    (labels, edges)
}

/// DAGs with twins, repeated components and isolated nodes.
fn symmetric(max_n: usize, num_labels: u64) -> impl Strategy<Value = Graph> {
    (
        dag(max_n, num_labels),
        dag(max_n, num_labels),
        proptest::collection::vec(0..3usize, max_n),
        1..4usize,
        0..4usize,
        0..num_labels,
    )
        .prop_map(|(a, b, copies, repeats, isolated, label)| {
            let a = add_twins(a, &copies);
            let iso: Graph = (vec![label; isolated], vec![]);
            let mut parts: Vec<&Graph> = vec![&a; repeats];
            parts.push(&b);
            parts.push(&iso);
            union(&parts)
        })
}

/// A component colour refinement cannot split but whose vertices lie in
/// different orbits: vertex nodes (label 0) feeding one node (label 1) per edge
/// of a cubic graph that is not vertex-transitive (two K4 minus an edge, joined).
fn wl_hard() -> Graph {
    let cubic = [
        (0, 2),
        (0, 3),
        (1, 2),
        (1, 3),
        (2, 3),
        (4, 6),
        (4, 7),
        (5, 6),
        (5, 7),
        (6, 7),
        (0, 4),
        (1, 5),
    ];
    let mut labels = vec![0u64; 8];
    let mut edges = Vec::new();
    for (a, b) in cubic {
        let e = labels.len() as u32;
        labels.push(1);
        edges.extend([(a, e), (b, e)]);
    }
    (labels, edges)
}

/// Copies of [`wl_hard`] (some with twins, one with two near-twins: same label
/// and successor, predecessors that refinement cannot tell apart), another
/// graph and isolated nodes.
fn wl_hard_unions() -> impl Strategy<Value = Graph> {
    let twins = proptest::collection::vec(0..2usize, 20);
    (dag(5, 2), 1..4usize, twins, 0..3usize, 0..8u32, 0..8u32).prop_map(
        |(other, copies, twins, isolated, x, y)| {
            let plain = wl_hard();
            let with_twins = add_twins(wl_hard(), &twins);
            let (mut labels, mut edges) = wl_hard();
            let (u, v, w) = (
                labels.len() as u32,
                labels.len() as u32 + 1,
                labels.len() as u32 + 2,
            );
            labels.extend([2, 2, 3]);
            edges.extend([(x, u), (y, v), (u, w), (v, w)]);
            let near_twins = (labels, edges);
            let iso: Graph = (vec![0; isolated], vec![]);
            let mut parts: Vec<&Graph> = vec![&plain; copies];
            parts.extend([&with_twins, &with_twins, &near_twins, &other, &iso]);
            union(&parts)
        },
    )
}

fn permute((labels, edges): &Graph, perm: &[u32]) -> Graph {
    let mut l = vec![0; labels.len()];
    for (v, &p) in perm.iter().enumerate() {
        l[p as usize] = labels[v];
    }
    let e = edges
        .iter()
        .map(|&(a, b)| (perm[a as usize], perm[b as usize]))
        .collect();
    (l, e)
}

/// A permutation of `0..n` from a seed (Fisher-Yates with a tiny LCG).
fn shuffled(n: usize, seed: u64) -> Vec<u32> {
    let mut perm: Vec<u32> = (0..n as u32).collect();
    let mut s = seed | 1;
    for i in (1..n).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        perm.swap(i, (s >> 33) as usize % (i + 1));
    }
    perm
}

fn petgraph_of((labels, edges): &Graph) -> DiGraph<u64, ()> {
    let mut g = DiGraph::new();
    for &l in labels {
        g.add_node(l);
    }
    for &(a, b) in edges {
        g.add_edge(a.into(), b.into(), ());
    }
    g
}

fn canon((labels, edges): &Graph) -> Canon {
    canonical_form(labels, edges).unwrap()
}

/// The graph renumbered by a canonical order: labels by position, sorted edges.
fn relabelled((labels, edges): &Graph, c: &Canon) -> Graph {
    let mut at = vec![0u32; labels.len()];
    for (p, &v) in c.order.iter().enumerate() {
        at[v as usize] = p as u32;
    }
    let l = c.order.iter().map(|&v| labels[v as usize]).collect();
    let mut e: Vec<(u32, u32)> = edges
        .iter()
        .map(|&(a, b)| (at[a as usize], at[b as usize]))
        .collect();
    e.sort_unstable();
    e.dedup();
    (l, e)
}

/// True when colour refinement, written here independently of the crate,
/// tells the graphs apart: run on both with one shared palette, some round
/// gives them different colour counts. Such graphs are not isomorphic.
fn refinement_separates(graphs: [&Graph; 2]) -> bool {
    let mut colours: [Vec<u32>; 2] = graphs.map(|(l, _)| l.iter().map(|&x| x as u32).collect());
    let mut num_colours = 0;
    loop {
        let mut palette = std::collections::BTreeMap::new();
        let next = [0, 1].map(|g| {
            let (labels, edges) = graphs[g];
            let c = &colours[g];
            let mut around = vec![(Vec::new(), Vec::new()); labels.len()];
            for &(a, b) in edges {
                around[b as usize].0.push(c[a as usize]);
                around[a as usize].1.push(c[b as usize]);
            }
            let mut next = Vec::with_capacity(labels.len());
            for (v, (mut pred, mut succ)) in around.into_iter().enumerate() {
                pred.sort_unstable();
                succ.sort_unstable();
                let fresh = palette.len() as u32;
                next.push(*palette.entry((c[v], pred, succ)).or_insert(fresh));
            }
            next
        });
        let [mut x, mut y] = next.clone();
        x.sort_unstable();
        y.sort_unstable();
        if x != y {
            return true;
        }
        if palette.len() == num_colours {
            return false; // stable: no further round splits a colour
        }
        num_colours = palette.len();
        colours = next;
    }
}

/// Isomorphism, decided by petgraph's VF2 once refinement cannot tell the
/// graphs apart: VF2 alone backtracks through factorially many label-preserving
/// maps on large edgeless or twin-rich pairs that differ only in label counts.
fn isomorphic(x: &Graph, y: &Graph) -> bool {
    !refinement_separates([x, y])
        && is_isomorphic_matching(&petgraph_of(x), &petgraph_of(y), |a, b| a == b, |_, _| true)
}

fn same_id_iff_isomorphic(x: &Graph, y: &Graph) -> Result<(), TestCaseError> {
    let same_id = canon(x).id == canon(y).id;
    let iso = isomorphic(x, y);
    prop_assert_eq!(same_id, iso);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn relabelling_nodes_never_changes_the_id(g in dag(14, 3), seed in any::<u64>()) {
        let p = permute(&g, &shuffled(g.0.len(), seed));
        prop_assert_eq!(canon(&g).id, canon(&p).id);
    }

    #[test]
    fn relabelling_symmetric_graphs_never_changes_the_id_or_form(
        g in symmetric(8, 2), seed in any::<u64>(),
    ) {
        let p = permute(&g, &shuffled(g.0.len(), seed));
        let (cg, cp) = (canon(&g), canon(&p));
        prop_assert_eq!(cg.id, cp.id);
        // the order reproduces the form: both graphs renumbered by theirs coincide
        prop_assert_eq!(relabelled(&g, &cg), relabelled(&p, &cp));
    }

    #[test]
    fn ids_agree_with_vf2(x in dag(7, 2), y in dag(7, 2)) {
        same_id_iff_isomorphic(&x, &y)?;
    }

    /// One label everywhere: the hardest case for refinement.
    #[test]
    fn ids_agree_with_vf2_unlabelled(x in dag(7, 1), y in dag(7, 1)) {
        same_id_iff_isomorphic(&x, &y)?;
    }

    /// Twins, repeated components and isolated nodes: pairs that differ in
    /// one of them, with a relabelled copy half the time so isomorphic pairs occur.
    #[test]
    fn ids_agree_with_vf2_on_symmetric_graphs(
        x in symmetric(4, 2), y in symmetric(4, 2), copy in any::<bool>(), seed in any::<u64>(),
    ) {
        let y = if copy { permute(&x, &shuffled(x.0.len(), seed)) } else { y };
        same_id_iff_isomorphic(&x, &y)?;
    }

    /// Any digraph, as the API accepts: cycles, self loops, duplicate edges,
    /// and twins among them (twins with loops or edges between them).
    #[test]
    fn ids_of_general_digraphs_equal_the_original_search(
        n in 1..9usize,
        labels in proptest::collection::vec(0..2u64, 9),
        edges in proptest::collection::vec((0..9u32, 0..9u32), 0..30),
        copies in proptest::collection::vec(0..3usize, 9),
        seed in any::<u64>(),
    ) {
        let edges: Vec<(u32, u32)> =
            edges.into_iter().map(|(a, b)| (a % n as u32, b % n as u32)).collect();
        let g = add_twins((labels[..n].to_vec(), edges), &copies);
        let old = reference::canonical_form(&g.0, &g.1).unwrap();
        let new = canon(&g);
        prop_assert_eq!(new.id, old.id);
        prop_assert_eq!(relabelled(&g, &new), relabelled(&g, &old_canon(old)));
        let p = permute(&g, &shuffled(g.0.len(), seed));
        prop_assert_eq!(canon(&p).id, new.id);
    }

    /// Ids never change: every graph the original search handles keeps its id.
    #[test]
    fn ids_equal_the_original_search(g in dag(14, 3)) {
        let old = reference::canonical_form(&g.0, &g.1).unwrap();
        prop_assert_eq!(canon(&g).id, old.id);
    }

    #[test]
    fn ids_of_symmetric_graphs_equal_the_original_search(g in symmetric(8, 2)) {
        let old = reference::canonical_form(&g.0, &g.1).unwrap();
        let new = canon(&g);
        prop_assert_eq!(new.id, old.id);
        prop_assert_eq!(relabelled(&g, &new), relabelled(&g, &old_canon(old)));
    }
}

proptest! {
    // The original search takes seconds per case here (unoptimised builds).
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Pruning by known symmetry must not skip a child in another orbit: on
    /// copies of a component whose vertices refinement cannot tell apart.
    #[test]
    fn wl_hard_components_keep_ids_and_forms(
        g in wl_hard_unions(), seed in any::<u64>(),
    ) {
        let p = permute(&g, &shuffled(g.0.len(), seed));
        let (cg, cp) = (canon(&g), canon(&p));
        prop_assert_eq!(cg.id, cp.id);
        prop_assert_eq!(relabelled(&g, &cg), relabelled(&p, &cp));
        prop_assert_eq!(cg.id, reference::canonical_form(&g.0, &g.1).unwrap().id);
    }
}

fn old_canon(c: reference::Canon) -> Canon {
    Canon {
        id: c.id,
        order: c.order,
    }
}

#[test]
fn sixty_four_node_motifs_are_supported() {
    // a 64-node grid-like DAG with one label: many refinement rounds, no symmetry budget issue
    let n = 64u32;
    let labels = vec![7u64; n as usize];
    let mut edges = Vec::new();
    for v in 0..n {
        if v % 8 != 7 {
            edges.push((v, v + 1));
        }
        if v + 8 < n {
            edges.push((v, v + 8));
        }
    }
    let g = (labels, edges);
    let a = canon(&g);
    let perm: Vec<u32> = (0..n).map(|v| (v * 37) % n).collect();
    assert_eq!(a.id, canon(&permute(&g, &perm)).id);
    assert_eq!(a.id, reference::canonical_form(&g.0, &g.1).unwrap().id);
}

/// The pair that hung CI for 90 minutes (stop 34): edgeless, 17 nodes, the
/// labels counted 9/8 against 7/10. VF2 alone tries factorially many maps.
#[test]
fn the_oracle_decides_large_edgeless_pairs_at_once() {
    let x: Graph = (
        vec![1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0],
        vec![],
    );
    let y: Graph = (
        vec![0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1],
        vec![],
    );
    same_id_iff_isomorphic(&x, &y).unwrap();
    let p = permute(&x, &shuffled(x.0.len(), 7));
    assert!(isomorphic(&x, &p));
    same_id_iff_isomorphic(&x, &p).unwrap();
}
