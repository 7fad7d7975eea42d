//! Shared decoding of fuzz input into small DAGs.

use arbitrary::{Result, Unstructured};

/// A DAG of at most `max_nodes` nodes over `num_ops` ops: edges only go from a
/// lower to a higher node id, so any decoded edge list is acyclic.
pub struct SmallDag {
    pub ops: Vec<i32>,
    pub src: Vec<i64>,
    pub dst: Vec<i64>,
}

pub fn small_dag(u: &mut Unstructured<'_>, max_nodes: usize, num_ops: i32) -> Result<SmallDag> {
    let n = u.int_in_range(0..=max_nodes)?;
    let mut ops = Vec::with_capacity(n);
    for _ in 0..n {
        ops.push(u.int_in_range(0..=num_ops - 1)?);
    }
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    if n >= 2 {
        let m = u.int_in_range(0..=3 * n)?;
        for _ in 0..m {
            let a = u.int_in_range(0..=n - 2)?;
            let b = u.int_in_range(a + 1..=n - 1)?;
            src.push(a as i64);
            dst.push(b as i64);
        }
    }
    Ok(SmallDag { ops, src, dst })
}
