//! archmotif-core: the graph engine behind archmotif, in pure Rust (no PyO3).
//!
//! - [`graph`]: the validated operator DAG ([`Dag`]) every other module uses;
//! - [`batch`]: many graphs at once, in parallel with rayon;
//! - mining, layered one way: [`mine`] (entry point, [`mine::Strategy`]) ->
//!   [`shard`] (the round driver, one or many shards) -> [`round`] (one merge
//!   round on one graph; its candidates found by `candidate`) -> [`motif`] (the
//!   shared types); [`order`] gives the canonical node order every tie is broken by;
//! - [`wire`] (the checked byte encoding) and [`saved`] (a whole mined corpus as
//!   one checksummed file).
//!
//! Nothing here knows about Python; the `archmotif-python` crate converts.

pub mod batch;
pub(crate) mod candidate;
pub mod canon;
pub mod contract;
pub mod control;
pub mod csr;
pub mod error;
pub mod graph;
pub mod hash;
pub mod mine;
pub mod motif;
pub mod nar;
pub mod normalize;
pub mod order;
pub mod paths;
pub mod quotient;
pub mod round;
pub mod saved;
pub mod shard;
pub mod wire;

pub use error::{Error, ErrorKind, Result};
pub use graph::{Dag, NodeId, Validated};
