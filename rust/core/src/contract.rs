//! Contraction by a user partition, induced subgraphs and context graphs.

use rayon::prelude::*;

use crate::control::Control;
use crate::error::{Error, Result};
use crate::graph::{Dag, NodeId};
use crate::motif::{Form, Macro};
use crate::quotient::Quotient;

/// Contracts `dag` by `partition` (any integer group label per node). Macro
/// nodes are ordered by their smallest node; each carries the canonical id of
/// its group's induced subgraph (labels from `op_labels[op]`). A group whose
/// contraction would create a cycle raises [`Error::NonConvex`] naming it.
/// Also returns the group label of each macro node and each group's form.
/// Fails with [`Error::Interrupted`] soon after `ctl` is cancelled.
pub fn contract(
    dag: &Dag,
    op_labels: &[u64],
    partition: &[i64],
    ctl: &Control,
) -> Result<(Macro, Vec<i64>, Vec<Form>)> {
    let n = dag.num_nodes();
    if partition.len() != n {
        return Err(Error::InvalidArgument(format!(
            "partition has {} entries for {n} nodes",
            partition.len()
        )));
    }
    // Dense part ids in order of each group's smallest node.
    let mut first: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();
    let mut group_of_part: Vec<i64> = Vec::new();
    let node_to_macro: Vec<u32> = partition
        .iter()
        .map(|&g| {
            *first.entry(g).or_insert_with(|| {
                group_of_part.push(g);
                (group_of_part.len() - 1) as u32
            })
        })
        .collect();
    let quotient = Quotient::new(dag, &node_to_macro);
    if let Some(cycle) = quotient.find_cycle(group_of_part.len()) {
        return Err(Error::NonConvex {
            group: group_of_part[cycle[0] as usize],
            via: group_of_part[cycle[1 % cycle.len()] as usize],
        });
    }
    let mut members: Vec<Vec<NodeId>> = vec![Vec::new(); group_of_part.len()];
    for (v, &p) in node_to_macro.iter().enumerate() {
        members[p as usize].push(v as NodeId);
    }
    let forms: Vec<(u128, Form)> = members
        .par_iter()
        .map(|nodes| induced_form(dag, op_labels, nodes, ctl))
        .collect::<Result<_>>()?;
    let (motif_ids, forms): (Vec<u128>, Vec<Form>) = forms.into_iter().unzip();
    Ok((
        Macro {
            motif_ids,
            node_to_macro,
            quotient,
        },
        group_of_part,
        forms,
    ))
}

/// Edges of the subgraph induced by `nodes` (sorted, distinct), in local ids.
pub fn induced_edges(dag: &Dag, nodes: &[NodeId]) -> Vec<(u32, u32)> {
    let mut edges = Vec::new();
    for (i, &v) in nodes.iter().enumerate() {
        for &w in dag.successors(v) {
            if let Ok(j) = nodes.binary_search(&w) {
                edges.push((i as u32, j as u32));
            }
        }
    }
    edges
}

/// Canonical id and form of the subgraph induced by sorted `nodes`.
pub fn induced_form(
    dag: &Dag,
    op_labels: &[u64],
    nodes: &[NodeId],
    ctl: &Control,
) -> Result<(u128, Form)> {
    let ops: Vec<u32> = nodes.iter().map(|&v| dag.op(v)).collect();
    let (c, form) = Form::canonical(&ops, op_labels, &induced_edges(dag, nodes), ctl)?;
    Ok((c.id, form))
}

/// The nodes within `hops` undirected steps of `seed` (sorted), i.e. the
/// instance plus its k-hop neighbourhood.
pub fn context_nodes(dag: &Dag, seed: &[NodeId], hops: usize) -> Vec<NodeId> {
    let mut seen = vec![false; dag.num_nodes()];
    let mut frontier: Vec<NodeId> = Vec::new();
    for &v in seed {
        if !seen[v as usize] {
            seen[v as usize] = true;
            frontier.push(v);
        }
    }
    let mut all = frontier.clone();
    for _ in 0..hops {
        let mut next = Vec::new();
        for &v in &frontier {
            for &w in dag.successors(v).iter().chain(dag.predecessors(v)) {
                if !seen[w as usize] {
                    seen[w as usize] = true;
                    next.push(w);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        all.extend_from_slice(&next);
        frontier = next;
    }
    all.sort_unstable();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(ops: &[i32], edges: &[(i64, i64)]) -> Dag {
        let (s, d): (Vec<i64>, Vec<i64>) = edges.iter().copied().unzip();
        Dag::validate(8, ops, &s, &d).unwrap().dag
    }

    #[test]
    fn contract_names_a_non_convex_group() {
        let g = dag(&[0, 1, 0], &[(0, 1), (1, 2)]);
        let ctl = Control::new();
        let e = contract(&g, &[1, 2, 3, 4, 5, 6, 7, 8], &[7, 9, 7], &ctl).unwrap_err();
        assert_eq!(e, Error::NonConvex { group: 7, via: 9 });
    }

    #[test]
    fn equal_groups_get_equal_ids() {
        // two conv->relu pairs feeding an add
        let g = dag(&[0, 1, 0, 1, 2], &[(0, 1), (2, 3), (1, 4), (3, 4)]);
        let ctl = Control::new();
        let (m, groups, _) = contract(&g, &[10, 20, 30], &[5, 5, 6, 6, 8], &ctl).unwrap();
        assert_eq!(groups, vec![5, 6, 8]);
        assert_eq!(m.motif_ids[0], m.motif_ids[1]);
        assert_ne!(m.motif_ids[0], m.motif_ids[2]);
        assert_eq!(m.quotient.edges, vec![(0, 2), (1, 2)]);
    }

    #[test]
    fn context_grows_by_hops() {
        let g = dag(&[0; 5], &[(0, 1), (1, 2), (2, 3), (3, 4)]);
        assert_eq!(context_nodes(&g, &[2], 0), vec![2]);
        assert_eq!(context_nodes(&g, &[2], 1), vec![1, 2, 3]);
        assert_eq!(context_nodes(&g, &[2], 5), vec![0, 1, 2, 3, 4]);
    }
}
