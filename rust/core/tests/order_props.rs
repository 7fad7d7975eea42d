//! Mining does not depend on how nodes are numbered: permuting the nodes of
//! every input graph gives the same vocabulary (ids, counts, support, levels,
//! order) and, per graph, the same macro graph up to that permutation (or an
//! isomorphic one where a symmetry makes two choices equivalent).

use archmotif_core::control::Control;
use archmotif_core::mine::{Macro, Miner, Params};
use archmotif_core::order::residual_ties;
use archmotif_core::Dag;
use petgraph::algo::is_isomorphic_matching;
use petgraph::graph::DiGraph;
use proptest::prelude::*;

const LABELS: [u64; 3] = [11, 22, 33];

type Raw = (Vec<i32>, Vec<(i64, i64)>);

/// A small random DAG: forward edges over `n` nodes, ops from `0..num_ops`
/// (one op makes chains of equal ops and many symmetries).
fn piece() -> impl Strategy<Value = Raw> {
    (1..7usize, 1..4i32).prop_flat_map(|(n, num_ops)| {
        (
            proptest::collection::vec(0..num_ops, n),
            proptest::collection::vec((0..n as i64, 0..n as i64), 0..2 * n),
            any::<bool>(),
        )
            .prop_map(move |(ops, pairs, chain)| {
                let mut edges: Vec<(i64, i64)> = pairs.into_iter().filter(|(a, b)| a < b).collect();
                if chain {
                    edges.extend((1..n as i64).map(|v| (v - 1, v)));
                }
                (ops, edges)
            })
    })
}

/// Copies of a piece side by side (parallel identical branches), optionally
/// between a shared source and sink (diamonds), optionally repeated in a
/// chain of blocks.
fn graph() -> impl Strategy<Value = Raw> {
    (piece(), 1..4usize, any::<bool>(), 1..4usize, 0..3i32).prop_map(
        |((ops, edges), copies, wrap, blocks, hub_op)| {
            let n = ops.len() as i64;
            let (mut all_ops, mut all_edges): Raw = (Vec::new(), Vec::new());
            let mut prev_sink: Option<i64> = None;
            for _ in 0..blocks {
                let src = all_ops.len() as i64;
                if wrap {
                    all_ops.push(hub_op);
                    if let Some(p) = prev_sink {
                        all_edges.push((p, src));
                    }
                }
                let mut bases = Vec::new();
                for _ in 0..copies {
                    let base = all_ops.len() as i64;
                    bases.push(base);
                    all_ops.extend_from_slice(&ops);
                    all_edges.extend(edges.iter().map(|&(a, b)| (a + base, b + base)));
                }
                if wrap {
                    let sink = all_ops.len() as i64;
                    all_ops.push(hub_op);
                    for &b in &bases {
                        all_edges.push((src, b));
                        all_edges.push((b + n - 1, sink));
                    }
                    prev_sink = Some(sink);
                }
            }
            (all_ops, all_edges)
        },
    )
}

fn dag((ops, edges): &Raw) -> Dag {
    let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
    Dag::validate(3, ops, &s, &d).expect("valid").dag
}

/// `g` with node `v` renamed `perm[v]`.
fn permuted((ops, edges): &Raw, perm: &[usize]) -> Raw {
    let mut p_ops = vec![0; ops.len()];
    for (v, &p) in perm.iter().enumerate() {
        p_ops[p] = ops[v];
    }
    let p_edges = edges
        .iter()
        .map(|&(a, b)| (perm[a as usize] as i64, perm[b as usize] as i64))
        .collect();
    (p_ops, p_edges)
}

fn shuffle(n: usize, mut seed: u64) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        perm.swap(i, (seed >> 33) as usize % (i + 1));
    }
    perm
}

fn petgraph_of(m: &Macro) -> DiGraph<u128, u32> {
    let mut g = DiGraph::new();
    for &id in &m.motif_ids {
        g.add_node(id);
    }
    for (&(a, b), &w) in m.quotient.edges.iter().zip(&m.quotient.weights) {
        g.add_edge(a.into(), b.into(), w);
    }
    g
}

/// The macro graph of a permuted graph is the original one with nodes renamed.
fn equal_up_to(a: &Macro, b: &Macro, perm: &[usize]) -> bool {
    if a.motif_ids.len() != b.motif_ids.len() {
        return false;
    }
    let mut map = vec![u32::MAX; a.motif_ids.len()];
    for (v, &ma) in a.node_to_macro.iter().enumerate() {
        let mb = b.node_to_macro[perm[v]];
        if map[ma as usize] == u32::MAX {
            map[ma as usize] = mb;
        } else if map[ma as usize] != mb {
            return false;
        }
    }
    let ids = (0..map.len()).all(|i| a.motif_ids[i] == b.motif_ids[map[i] as usize]);
    let mut edges: Vec<((u32, u32), u32)> = a
        .quotient
        .edges
        .iter()
        .zip(&a.quotient.weights)
        .map(|(&(x, y), &w)| ((map[x as usize], map[y as usize]), w))
        .collect();
    edges.sort_unstable();
    let theirs: Vec<((u32, u32), u32)> = b
        .quotient
        .edges
        .iter()
        .copied()
        .zip(b.quotient.weights.iter().copied())
        .collect();
    ids && edges == theirs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn permuting_nodes_changes_nothing_but_the_numbering(
        raw in proptest::collection::vec(graph(), 1..4),
        seed in any::<u64>(),
        min_count in 1..3u64,
        max_motif_nodes in 3..10usize,
    ) {
        let params = Params { min_count, min_support: 1, max_motif_nodes, max_levels: 6 };
        let ctl = Control::new();
        let perms: Vec<Vec<usize>> = raw
            .iter()
            .enumerate()
            .map(|(i, (ops, _))| shuffle(ops.len(), seed ^ i as u64))
            .collect();
        let dags: Vec<Dag> = raw.iter().map(dag).collect();
        let moved: Vec<Dag> = raw.iter().zip(&perms).map(|(r, p)| dag(&permuted(r, p))).collect();
        let a = Miner::new(LABELS.to_vec())
            .mine(&dags.iter().collect::<Vec<_>>(), params, &ctl)
            .expect("mines");
        let b = Miner::new(LABELS.to_vec())
            .mine(&moved.iter().collect::<Vec<_>>(), params, &ctl)
            .expect("mines");
        prop_assert_eq!(&a.vocabulary, &b.vocabulary);
        for (g, ((ma, mb), perm)) in a.macros.iter().zip(&b.macros).zip(&perms).enumerate() {
            let canonical = residual_ties(&dags[g], &LABELS, &ctl).expect("ranks") == 0;
            if canonical {
                prop_assert!(equal_up_to(ma, mb, perm), "graph {} differs beyond the numbering", g);
            } else {
                prop_assert!(
                    is_isomorphic_matching(&petgraph_of(ma), &petgraph_of(mb), |x, y| x == y, |x, y| x == y),
                    "graph {} contracts to a non-isomorphic macro graph", g
                );
            }
        }
    }
}

/// Parallel identical branches of equal ops under a shared source and sink,
/// chained: the shape whose contraction used to follow the input numbering.
#[test]
fn parallel_chains_of_equal_ops_mine_alike_under_every_numbering() {
    let mut raw: Raw = (Vec::new(), Vec::new());
    for block in 0..6i64 {
        let base = block * 8;
        raw.0.extend([0, 1, 1, 1, 1, 1, 1, 2]);
        raw.1.extend(
            [
                (0, 1),
                (1, 2),
                (2, 3),
                (0, 4),
                (4, 5),
                (5, 6),
                (3, 7),
                (6, 7),
            ]
            .iter()
            .map(|&(a, b)| (a + base, b + base)),
        );
        if block > 0 {
            raw.1.push((base - 1, base));
        }
    }
    let params = Params {
        min_count: 2,
        min_support: 1,
        max_motif_nodes: 16,
        max_levels: 8,
    };
    let ctl = Control::new();
    let g = dag(&raw);
    let first = Miner::new(LABELS.to_vec())
        .mine(&[&g], params, &ctl)
        .expect("mines");
    for seed in 0..20 {
        let perm = shuffle(raw.0.len(), seed);
        let h = dag(&permuted(&raw, &perm));
        let other = Miner::new(LABELS.to_vec())
            .mine(&[&h], params, &ctl)
            .expect("mines");
        assert_eq!(first.vocabulary, other.vocabulary, "seed {seed}");
        assert!(
            is_isomorphic_matching(
                &petgraph_of(&first.macros[0]),
                &petgraph_of(&other.macros[0]),
                |x, y| x == y,
                |x, y| x == y
            ),
            "seed {seed}"
        );
    }
}
