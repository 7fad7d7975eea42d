//! Contraction by an arbitrary partition: never panics; a convex partition
//! gives an acyclic macro graph covering every node, a non-convex one an error.
#![no_main]

use arbitrary::Unstructured;
use archmotif_core::contract::contract;
use archmotif_core::control::Control;
use archmotif_core::Dag;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(g) = common::small_dag(&mut u, 32, 3) else {
        return;
    };
    let dag = Dag::validate(3, &g.ops, &g.src, &g.dst)
        .expect("decoded DAGs are valid")
        .dag;
    let mut part = Vec::with_capacity(g.ops.len());
    for _ in 0..g.ops.len() + u.int_in_range(0..=1usize).unwrap_or(0) {
        part.push(u.int_in_range(-3..=5i64).unwrap_or(0));
    }
    match contract(&dag, &[1, 2, 3], &part, &Control::new()) {
        Ok((m, _, _)) => {
            assert_eq!(part.len(), dag.num_nodes());
            let k = m.motif_ids.len();
            assert_eq!(m.node_to_macro.len(), dag.num_nodes());
            assert!(m.quotient.find_cycle(k).is_none());
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
