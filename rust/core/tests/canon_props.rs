//! Property tests of canonical ids against petgraph's VF2 as the oracle.

use archmotif_core::canon::canonical_form;
use petgraph::algo::is_isomorphic_matching;
use petgraph::graph::DiGraph;
use proptest::prelude::*;

/// A random DAG on up to `max_n` nodes with labels from `0..num_labels`.
fn dag(max_n: usize, num_labels: u64) -> impl Strategy<Value = (Vec<u64>, Vec<(u32, u32)>)> {
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

fn permute(labels: &[u64], edges: &[(u32, u32)], perm: &[u32]) -> (Vec<u64>, Vec<(u32, u32)>) {
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

fn petgraph_of(labels: &[u64], edges: &[(u32, u32)]) -> DiGraph<u64, ()> {
    let mut g = DiGraph::new();
    for &l in labels {
        g.add_node(l);
    }
    for &(a, b) in edges {
        g.add_edge(a.into(), b.into(), ());
    }
    g
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn relabelling_nodes_never_changes_the_id(
        (labels, edges) in dag(14, 3),
        seed in any::<u64>(),
    ) {
        let n = labels.len();
        let mut perm: Vec<u32> = (0..n as u32).collect();
        // Fisher-Yates with a tiny LCG: deterministic per case
        let mut s = seed | 1;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (s >> 33) as usize % (i + 1));
        }
        let (l2, e2) = permute(&labels, &edges, &perm);
        prop_assert_eq!(
            canonical_form(&labels, &edges).unwrap().id,
            canonical_form(&l2, &e2).unwrap().id
        );
    }

    #[test]
    fn ids_agree_with_vf2((l1, e1) in dag(7, 2), (l2, e2) in dag(7, 2)) {
        let same_id = canonical_form(&l1, &e1).unwrap().id == canonical_form(&l2, &e2).unwrap().id;
        let iso = is_isomorphic_matching(
            &petgraph_of(&l1, &e1), &petgraph_of(&l2, &e2), |a, b| a == b, |_, _| true,
        );
        prop_assert_eq!(same_id, iso);
    }

    /// One label everywhere: the hardest case for refinement.
    #[test]
    fn ids_agree_with_vf2_unlabelled((l1, e1) in dag(7, 1), (l2, e2) in dag(7, 1)) {
        let same_id = canonical_form(&l1, &e1).unwrap().id == canonical_form(&l2, &e2).unwrap().id;
        let iso = is_isomorphic_matching(
            &petgraph_of(&l1, &e1), &petgraph_of(&l2, &e2), |a, b| a == b, |_, _| true,
        );
        prop_assert_eq!(same_id, iso);
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
    let a = canonical_form(&labels, &edges).unwrap();
    let perm: Vec<u32> = (0..n).map(|v| (v * 37) % n).collect();
    let (l2, e2) = permute(&labels, &edges, &perm);
    assert_eq!(a.id, canonical_form(&l2, &e2).unwrap().id);
}
