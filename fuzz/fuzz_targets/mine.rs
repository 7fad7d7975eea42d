//! Mining a few arbitrary DAGs: never panics; every node is in exactly one
//! macro node and every macro graph is acyclic.
#![no_main]

use arbitrary::Unstructured;
use archmotif_core::control::Control;
use archmotif_core::mine::{Miner, Params};
use archmotif_core::Dag;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(count) = u.int_in_range(1..=4usize) else {
        return;
    };
    let mut dags = Vec::new();
    for _ in 0..count {
        let Ok(g) = common::small_dag(&mut u, 40, 3) else {
            return;
        };
        dags.push(
            Dag::validate(3, &g.ops, &g.src, &g.dst)
                .expect("decoded DAGs are valid")
                .dag,
        );
    }
    let params = Params {
        min_count: u.int_in_range(1..=3).unwrap_or(2),
        min_support: 1,
        max_motif_nodes: u.int_in_range(2..=12).unwrap_or(8),
        max_levels: u.int_in_range(0..=6).unwrap_or(4),
    };
    let refs: Vec<&Dag> = dags.iter().collect();
    let mut miner = Miner::new(vec![11, 22, 33]);
    let mined = miner
        .mine(&refs, params, &Control::new())
        .expect("valid input mines");
    for (dag, m) in dags.iter().zip(&mined.macros) {
        assert_eq!(m.node_to_macro.len(), dag.num_nodes());
        let k = m.motif_ids.len() as u32;
        assert!(m.node_to_macro.iter().all(|&x| x < k));
        assert!(
            m.quotient.find_cycle(k as usize).is_none(),
            "macro graph has a cycle"
        );
    }
    // Applying the rules to the mined graphs reproduces their macro graphs.
    let again = miner.apply(&refs, &Control::new()).expect("apply");
    for (a, b) in mined.macros.iter().zip(&again) {
        assert_eq!(a.node_to_macro, b.node_to_macro);
        assert_eq!(a.motif_ids, b.motif_ids);
    }
});
