//! Graph validation on arbitrary arrays: never panics; accepts exactly the
//! graphs whose ids are in range and that have no cycle.
#![no_main]

use archmotif_core::Dag;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, Vec<i32>, Vec<(i64, i64)>)| {
    let (num_ops, ops, edges) = input;
    let src: Vec<i64> = edges.iter().map(|e| e.0 % 64).collect();
    let dst: Vec<i64> = edges.iter().map(|e| e.1 % 64).collect();
    let ops: Vec<i32> = ops.into_iter().take(64).collect();
    match Dag::validate(num_ops as usize, &ops, &src, &dst) {
        Ok(v) => {
            let dag = v.dag;
            assert_eq!(dag.num_nodes(), ops.len());
            assert!(ops
                .iter()
                .all(|&o| o >= 0 && (o as usize) < num_ops as usize));
            assert!(dag.topological_order().is_ok());
            for (a, b) in dag.edges() {
                assert!((a as usize) < ops.len() && (b as usize) < ops.len() && a != b);
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
