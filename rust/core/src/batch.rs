//! Many graphs at once. A corpus is laid out as concatenated arrays with offsets
//! (the corpus file's layout), so a batch call borrows one buffer per field and
//! validates every graph in parallel.

use rayon::prelude::*;

use crate::error::Result;
use crate::graph::{Dag, Validated};

/// Borrowed view of one graph's raw arrays.
#[derive(Debug, Clone, Copy)]
pub struct RawGraph<'a> {
    pub ops: &'a [i32],
    pub src: &'a [i64],
    pub dst: &'a [i64],
}

/// Validates every graph in parallel; results are in input order, so the first
/// error reported is the one of the lowest graph index whatever the thread count.
pub fn validate_all(num_ops: usize, graphs: &[RawGraph<'_>]) -> Vec<Result<Validated>> {
    graphs
        .par_iter()
        .map(|g| Dag::validate(num_ops, g.ops, g.src, g.dst))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn reports_per_graph_in_input_order() {
        let good = RawGraph {
            ops: &[0, 0],
            src: &[0],
            dst: &[1],
        };
        let bad = RawGraph {
            ops: &[0, 0],
            src: &[0, 1],
            dst: &[1, 0],
        };
        let out = validate_all(1, &[good, bad, good]);
        assert!(out[0].is_ok() && out[2].is_ok());
        assert_eq!(
            out[1].as_ref().unwrap_err(),
            &Error::Cycle { cycle: vec![0, 1] }
        );
    }
}
