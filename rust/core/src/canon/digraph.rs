//! The labelled digraph the search runs on: forward and reverse adjacency in
//! CSR form, each row sorted and free of duplicates.

pub(super) struct Digraph {
    pub labels: Vec<u64>,
    out_off: Vec<u32>,
    out_adj: Vec<u32>,
    in_off: Vec<u32>,
    in_adj: Vec<u32>,
}

/// CSR rows of `pairs` (row, entry) for `n` rows, sorted and deduplicated.
fn csr(n: usize, mut pairs: Vec<(u32, u32)>) -> (Vec<u32>, Vec<u32>) {
    pairs.sort_unstable();
    pairs.dedup();
    let mut off = vec![0u32; n + 1];
    for &(r, _) in &pairs {
        off[r as usize + 1] += 1;
    }
    for i in 0..n {
        off[i + 1] += off[i];
    }
    (off, pairs.into_iter().map(|(_, e)| e).collect())
}

impl Digraph {
    /// Vertices `0..labels.len()`; duplicate edges are ignored.
    pub fn new(labels: &[u64], edges: &[(u32, u32)]) -> Self {
        let n = labels.len();
        let (out_off, out_adj) = csr(n, edges.to_vec());
        let (in_off, in_adj) = csr(n, edges.iter().map(|&(s, d)| (d, s)).collect());
        Digraph {
            labels: labels.to_vec(),
            out_off,
            out_adj,
            in_off,
            in_adj,
        }
    }

    pub fn n(&self) -> usize {
        self.labels.len()
    }

    /// Number of distinct edges.
    pub fn m(&self) -> usize {
        self.out_adj.len()
    }

    pub fn out(&self, v: u32) -> &[u32] {
        &self.out_adj[self.out_off[v as usize] as usize..self.out_off[v as usize + 1] as usize]
    }

    pub fn inn(&self, v: u32) -> &[u32] {
        &self.in_adj[self.in_off[v as usize] as usize..self.in_off[v as usize + 1] as usize]
    }

    /// The subgraph induced by sorted `nodes`, in local ids (index in `nodes`).
    pub fn induced(&self, nodes: &[u32]) -> Digraph {
        let labels: Vec<u64> = nodes.iter().map(|&v| self.labels[v as usize]).collect();
        let mut edges = Vec::new();
        for (i, &v) in nodes.iter().enumerate() {
            for &w in self.out(v) {
                if let Ok(j) = nodes.binary_search(&w) {
                    edges.push((i as u32, j as u32));
                }
            }
        }
        Digraph::new(&labels, &edges)
    }
}
