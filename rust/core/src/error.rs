//! The one error type of the core. Every fallible public function returns
//! [`Result`]; the PyO3 glue maps each [`ErrorKind`] to one Python exception
//! class once, so no error text is built twice and no panic crosses the boundary.

use std::fmt::Write as _;

/// What went wrong, with enough detail for a message that names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("node {node} has a negative op id {op}")]
    NegativeOp { node: usize, op: i64 },
    #[error("node {node} has op id {op}, past the {num_ops} op names of the graph")]
    OpOutOfRange {
        node: usize,
        op: i64,
        num_ops: usize,
    },
    #[error("edge {index} ({src} -> {dst}) has a negative node id")]
    NegativeNode { index: usize, src: i64, dst: i64 },
    #[error("edge {index} ({src} -> {dst}) refers to a missing node: the graph has {num_nodes} nodes ({})", id_range(.num_nodes))]
    EdgeOutOfRange {
        index: usize,
        src: i64,
        dst: i64,
        num_nodes: usize,
    },
    #[error("edge {index} ({node} -> {node}) is a self loop; an operator graph must be acyclic")]
    SelfLoop { index: usize, node: usize },
    #[error("the graph has a cycle through nodes {}", format_cycle(.cycle))]
    Cycle { cycle: Vec<usize> },
    #[error("edge arrays differ in length: {sources} sources but {targets} targets")]
    EdgeShape { sources: usize, targets: usize },
    #[error("interrupted")]
    Interrupted,
    #[error("{0}")]
    InvalidArgument(String),
    #[error("group {group} is not convex: a path leaves it and re-enters it through group {via}")]
    NonConvex { group: i64, via: i64 },
    #[error("canonical form search of a {num_nodes}-node graph exceeded its budget of {budget} work units (a highly symmetric or very dense graph)")]
    CanonBudget { num_nodes: usize, budget: u64 },
    #[error("the graph has {num_nodes} nodes, more than the supported {max}")]
    TooManyNodes { num_nodes: usize, max: usize },
    #[error("{0}")]
    Format(String),
}

/// The coarse class of an [`Error`], one per Python exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed graph data: Python `archmotif.GraphError` (a `ValueError`).
    Graph,
    /// A documented size limit was exceeded: Python `archmotif.LimitError`.
    Limit,
    /// The call was cancelled (Ctrl-C): Python `KeyboardInterrupt`.
    Interrupted,
    /// A bad parameter value: Python `ValueError`.
    InvalidArgument,
    /// Bytes that do not decode: Python `archmotif.FormatError`.
    Format,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::TooManyNodes { .. } | Error::CanonBudget { .. } => ErrorKind::Limit,
            Error::Interrupted => ErrorKind::Interrupted,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Format(_) => ErrorKind::Format,
            _ => ErrorKind::Graph,
        }
    }
}

/// The valid node ids of a graph of `n` nodes, inclusive, as a reader counts them
/// ("ids 0 to 69" for 70 nodes; Rust's `0..70` read as off by one).
fn id_range(n: &usize) -> String {
    match *n {
        0 => "no node ids".to_string(),
        1 => "id 0".to_string(),
        n => format!("ids 0 to {}", n - 1),
    }
}

fn format_cycle(cycle: &[usize]) -> String {
    let mut s = String::new();
    for n in cycle {
        let _ = write!(s, "{n} -> ");
    }
    if let Some(first) = cycle.first() {
        let _ = write!(s, "{first}");
    }
    s
}

pub type Result<T> = std::result::Result<T, Error>;
