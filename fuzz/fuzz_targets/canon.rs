//! Canonical forms: never panic, and a relabelled copy of a graph (nodes
//! permuted) gets the same id.
#![no_main]

use arbitrary::Unstructured;
use archmotif_core::canon::canonical_form;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(g) = common::small_dag(&mut u, 24, 4) else {
        return;
    };
    let n = g.ops.len();
    let labels: Vec<u64> = g.ops.iter().map(|&o| o as u64 * 0x9E37_79B9 + 1).collect();
    let edges: Vec<(u32, u32)> = g
        .src
        .iter()
        .zip(&g.dst)
        .map(|(&a, &b)| (a as u32, b as u32))
        .collect();
    let a = canonical_form(&labels, &edges).expect("small graphs always have a form");
    // A permutation drawn from the rest of the input.
    let mut perm: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = u.int_in_range(0..=i).unwrap_or(0);
        perm.swap(i, j);
    }
    let mut plabels = vec![0u64; n];
    for (v, &p) in perm.iter().enumerate() {
        plabels[p as usize] = labels[v];
    }
    let pedges: Vec<(u32, u32)> = edges
        .iter()
        .map(|&(s, d)| (perm[s as usize], perm[d as usize]))
        .collect();
    let b = canonical_form(&plabels, &pedges).expect("same size");
    assert_eq!(a.id, b.id, "isomorphic graphs must share a canonical id");
});
