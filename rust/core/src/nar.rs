//! The `"nar"` strategy: the segmentation of Neural Architecture Retrieval
//! (Pei et al., ICLR 2024), done properly, as the faithful baseline.
//!
//! 1. Node codes by iterated neighbourhood encoding: op label, then
//!    [`ROUNDS`] rounds of hashing each node's code with the sorted codes of its
//!    predecessors and of its successors (the paper's idea; its code used one
//!    round of predecessor offsets and ignored op types).
//! 2. A canonical topological order: Kahn's algorithm taking the ready node with
//!    the smallest (code, id) first, replacing the tracer's emission order.
//! 3. The paper's bigram rule: `f[i]` = corpus-free frequency, within the graph,
//!    of the code bigram starting at position `i`; `tau` = the most common
//!    non-zero `|f[i+1] - f[i]|` (smallest on ties, 0 if none); cut where the jump
//!    exceeds `tau` (before `i+1` on a rise, before `i+2` on a fall).
//! 4. Each run (split into chunks of at most `max_motif_nodes`) is a motif
//!    instance. A run is contiguous in a topological order, hence convex, so
//!    the macro graph is a DAG. Runs are hashed into the same canonical id
//!    space as every other motif.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rayon::prelude::*;

use crate::contract::induced_form;
use crate::control::Control;
use crate::error::{Error, Result};
use crate::graph::{Dag, NodeId};
use crate::hash::{murmur3_128, SEED};
use crate::motif::{Form, Macro, Mined, Motif, Params, MAX_MOTIF_NODES};
use crate::quotient::Quotient;

/// Rounds of neighbourhood encoding.
pub const ROUNDS: usize = 3;

fn codes(dag: &Dag, op_labels: &[u64]) -> Vec<u64> {
    let mut code: Vec<u64> = dag.ops().iter().map(|&o| op_labels[o as usize]).collect();
    for _ in 0..ROUNDS {
        code = (0..dag.num_nodes() as NodeId)
            .map(|v| {
                let mut p: Vec<u64> = dag
                    .predecessors(v)
                    .iter()
                    .map(|&w| code[w as usize])
                    .collect();
                let mut s: Vec<u64> = dag
                    .successors(v)
                    .iter()
                    .map(|&w| code[w as usize])
                    .collect();
                p.sort_unstable();
                s.sort_unstable();
                let mut bytes = Vec::with_capacity(8 * (2 + p.len() + s.len()));
                bytes.extend_from_slice(&code[v as usize].to_le_bytes());
                for x in p.iter().chain([&u64::MAX]).chain(&s) {
                    bytes.extend_from_slice(&x.to_le_bytes());
                }
                murmur3_128(&bytes, SEED) as u64
            })
            .collect();
    }
    code
}

fn canonical_topo_order(dag: &Dag, code: &[u64]) -> Vec<NodeId> {
    let mut indeg: Vec<usize> = (0..dag.num_nodes() as NodeId)
        .map(|v| dag.predecessors(v).len())
        .collect();
    let mut heap: BinaryHeap<Reverse<(u64, NodeId)>> = (0..dag.num_nodes() as NodeId)
        .filter(|&v| indeg[v as usize] == 0)
        .map(|v| Reverse((code[v as usize], v)))
        .collect();
    let mut order = Vec::with_capacity(dag.num_nodes());
    while let Some(Reverse((_, v))) = heap.pop() {
        order.push(v);
        for &w in dag.successors(v) {
            indeg[w as usize] -= 1;
            if indeg[w as usize] == 0 {
                heap.push(Reverse((code[w as usize], w)));
            }
        }
    }
    order
}

/// Run boundaries (start positions, ascending, starting with 0) of a code sequence.
fn cut(seq: &[u64]) -> Vec<usize> {
    let n = seq.len();
    let mut starts = vec![0];
    if n < 3 {
        return starts;
    }
    let mut bigrams: HashMap<(u64, u64), i64> = HashMap::new();
    for w in seq.windows(2) {
        *bigrams.entry((w[0], w[1])).or_insert(0) += 1;
    }
    let f: Vec<i64> = seq.windows(2).map(|w| bigrams[&(w[0], w[1])]).collect();
    let mut jumps: HashMap<i64, usize> = HashMap::new();
    for w in f.windows(2) {
        let d = (w[1] - w[0]).abs();
        if d != 0 {
            *jumps.entry(d).or_insert(0) += 1;
        }
    }
    let tau = jumps
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map_or(0, |(&d, _)| d);
    for i in 0..f.len() - 1 {
        let d = f[i + 1] - f[i];
        if d.abs() > tau {
            let at = if d > 0 { i + 1 } else { i + 2 };
            if at < n && *starts.last().expect("non-empty") < at {
                starts.push(at);
            }
        }
    }
    starts
}

struct Segmented {
    node_to_run: Vec<u32>,
    runs: Vec<(u128, Form)>,
}

fn segment(dag: &Dag, op_labels: &[u64], max_nodes: usize, ctl: &Control) -> Result<Segmented> {
    let code = codes(dag, op_labels);
    let order = canonical_topo_order(dag, &code);
    let seq: Vec<u64> = order.iter().map(|&v| code[v as usize]).collect();
    let mut starts = cut(&seq);
    starts.push(order.len());
    let mut node_to_run = vec![0u32; dag.num_nodes()];
    let mut runs = Vec::new();
    for w in starts.windows(2) {
        for chunk in order[w[0]..w[1]].chunks(max_nodes) {
            let mut nodes = chunk.to_vec();
            nodes.sort_unstable();
            for &v in &nodes {
                node_to_run[v as usize] = runs.len() as u32;
            }
            runs.push(induced_form(dag, op_labels, &nodes, ctl)?);
        }
    }
    Ok(Segmented { node_to_run, runs })
}

/// Segments every graph; macro nodes ordered by smallest node.
pub fn segment_all(
    graphs: &[&Dag],
    op_labels: &[u64],
    max_nodes: usize,
    ctl: &Control,
) -> Result<Vec<(Macro, Vec<Form>)>> {
    if !(1..=MAX_MOTIF_NODES).contains(&max_nodes) {
        return Err(Error::InvalidArgument(format!(
            "max_motif_nodes must be in 1..={MAX_MOTIF_NODES}, got {max_nodes}"
        )));
    }
    ctl.set_total(graphs.len() as u64);
    graphs
        .par_iter()
        .map(|g| {
            ctl.check()?;
            let s = segment(g, op_labels, max_nodes, ctl)?;
            // reorder runs by smallest node (node ids are visited ascending)
            let mut new_index = vec![u32::MAX; s.runs.len()];
            let mut next = 0u32;
            for &r in &s.node_to_run {
                if new_index[r as usize] == u32::MAX {
                    new_index[r as usize] = next;
                    next += 1;
                }
            }
            let node_to_macro: Vec<u32> = s
                .node_to_run
                .iter()
                .map(|&r| new_index[r as usize])
                .collect();
            let mut runs: Vec<Option<(u128, Form)>> = vec![None; s.runs.len()];
            for (r, run) in s.runs.into_iter().enumerate() {
                runs[new_index[r] as usize] = Some(run);
            }
            let (motif_ids, forms): (Vec<u128>, Vec<Form>) = runs
                .into_iter()
                .map(|r| r.expect("every run has nodes"))
                .unzip();
            let quotient = Quotient::new(g, &node_to_macro);
            ctl.advance(1);
            Ok((
                Macro {
                    motif_ids,
                    node_to_macro,
                    quotient,
                },
                forms,
            ))
        })
        .collect()
}

/// Mines with the NAR segmentation. Level 0 holds single-op runs, level 1 the
/// longer runs, whose children are the single-op motifs of their ops.
pub fn mine_nar(
    graphs: &[&Dag],
    op_labels: &[u64],
    params: Params,
    ctl: &Control,
) -> Result<Mined> {
    let seg = segment_all(graphs, op_labels, params.max_motif_nodes, ctl)?;
    let mut stats: HashMap<u128, (u64, u64, Form)> = HashMap::new();
    for (m, forms) in &seg {
        let mut here: HashMap<u128, u64> = HashMap::new();
        for (id, form) in m.motif_ids.iter().zip(forms) {
            *here.entry(*id).or_insert(0) += 1;
            stats.entry(*id).or_insert_with(|| (0, 0, form.clone()));
        }
        for (id, n) in here {
            let s = stats.get_mut(&id).expect("inserted above");
            s.0 += n;
            s.1 += 1;
        }
    }
    let single = |op: u32| -> Result<u128> {
        Ok(crate::canon::canonical_form(&[op_labels[op as usize]], &[])?.id)
    };
    let mut vocabulary = Vec::with_capacity(stats.len());
    for (id, (count, support, form)) in stats {
        let level = u32::from(form.ops.len() > 1);
        let mut children = Vec::new();
        if level == 1 {
            for &op in &form.ops {
                children.push(single(op)?);
            }
            children.sort_unstable();
            children.dedup();
        }
        vocabulary.push(Motif {
            id,
            form,
            level,
            children,
            count,
            support,
        });
    }
    vocabulary.sort_unstable_by_key(|m| (m.level, m.id));
    Ok(Mined {
        vocabulary,
        macros: seg.into_iter().map(|(m, _)| m).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigram_rule_cuts_a_periodic_sequence_at_the_change() {
        // a b a b a b c d e: the periodic part has high bigram counts
        let seq = [1, 2, 1, 2, 1, 2, 3, 4, 5];
        let starts = cut(&seq);
        assert_eq!(starts[0], 0);
        assert!(starts.len() >= 2);
    }
}
