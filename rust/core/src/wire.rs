//! The core's byte encoding: the primitives ([`Writer`], [`Reader`]) every
//! archmotif binary format is written with, and the encoding of a
//! [`ShardResult`], to move it between processes or machines (a Dask worker
//! hands its shard's result to the coordinator). [`crate::saved`] writes a
//! whole mined corpus with the same primitives.
//!
//! Little-endian, versioned, with every map written in id order so equal
//! results encode to equal bytes. Decoding checks every length against the
//! bytes left, so truncated or foreign input is an [`Error::Format`], never a
//! panic or a huge allocation.

use rustc_hash::FxHashMap as HashMap;

use crate::candidate::{Candidate, Candidates};
use crate::error::{Error, Result};
use crate::hash::murmur3_128;
use crate::motif::{Form, Key, Macro};
use crate::quotient::Quotient;
use crate::round::Partition;
use crate::shard::{ShardResult, ShardState};

const MAGIC: &[u8; 8] = b"AMSHARD\0";
const VERSION: u32 = 1;

/// Encodes `r` (see the module docs).
pub fn encode(r: &ShardResult) -> Vec<u8> {
    let mut w = Writer::new(MAGIC, VERSION);
    let stats = sorted(&r.stats);
    w.len(stats.len());
    for (id, (c, s)) in stats {
        w.u128(id);
        w.u64(c);
        w.u64(s);
    }
    let levels = sorted(&r.level_of);
    w.len(levels.len());
    for (id, l) in levels {
        w.u128(id);
        w.u32(l);
    }
    let children = sorted(&r.children);
    w.len(children.len());
    for (id, k) in children {
        w.u128(id);
        w.u128(k.a);
        w.u128(k.b);
        w.pairs(&k.cross);
    }
    let forms = sorted(&r.forms);
    w.len(forms.len());
    for (id, f) in forms {
        w.u128(id);
        w.form(&f);
    }
    w.len(r.macros.len());
    for m in &r.macros {
        w.macro_graph(m);
    }
    w.0
}

/// Decodes what [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<ShardResult> {
    decode_result(bytes).map_err(|e| match e {
        Error::Format(why) => Error::Format(format!("not a valid archmotif shard result: {why}")),
        e => e,
    })
}

fn decode_result(bytes: &[u8]) -> Result<ShardResult> {
    let mut r = Reader::new(bytes);
    if r.take(MAGIC.len())? != MAGIC {
        return Err(Error::Format("missing magic bytes".into()));
    }
    let version = r.u32()?;
    if version != VERSION {
        return Err(Error::Format(format!(
            "version {version}, this archmotif reads {VERSION}"
        )));
    }
    let mut out = ShardResult::default();
    for _ in 0..r.len(40)? {
        let id = r.u128()?;
        out.stats.insert(id, (r.u64()?, r.u64()?));
    }
    for _ in 0..r.len(20)? {
        let id = r.u128()?;
        out.level_of.insert(id, r.u32()?);
    }
    for _ in 0..r.len(52)? {
        let id = r.u128()?;
        let key = Key {
            a: r.u128()?,
            b: r.u128()?,
            cross: r.pairs()?,
        };
        out.children.insert(id, key);
    }
    for _ in 0..r.len(24)? {
        let id = r.u128()?;
        out.forms.insert(id, r.form()?);
    }
    for _ in 0..r.len(16)? {
        out.macros.push(r.macro_graph()?);
    }
    r.end()?;
    Ok(out)
}

const STATE_MAGIC: &[u8; 8] = b"AMSTATE\0";
/// 2: the fingerprint of the shard's graphs, partitions without the
/// node-to-fragment arrays (they follow from the rest) and with motifs as
/// indices into one table, and the candidates the shard counted before it
/// was suspended.
const STATE_VERSION: u32 = 2;
/// Seed of the state checksum ("amstate1").
const STATE_SEED: u64 = 0x616d_7374_6174_6531;

/// The arrays of a suspended shard's partition, node-level by construction
/// ([`crate::shard::Shard::suspend`] flattens them).
fn flat(p: &Partition) -> crate::round::PartitionArrays<'_> {
    p.arrays()
        .expect("a suspended shard's partitions are node-level")
}

/// Encodes a suspended shard's state (streamed mining writes one per chunk per
/// round): the [`crate::batch::fingerprint`] of its graphs' arrays (`graphs`,
/// validated when the shard started), partitions, what each graph created, its
/// candidates when the shard kept them, first levels, children keys, then a
/// 128-bit checksum of everything before it.
pub fn encode_state(st: &ShardState, graphs: u128) -> Vec<u8> {
    let mut w = Writer::new(STATE_MAGIC, STATE_VERSION);
    w.0.reserve(state_size(st)); // a chunk's state is megabytes: no doubling, no copies
    w.u128(graphs);
    w.u64(st.level as u64);
    w.len(st.parts.len());
    w.u32(!st.cands.is_empty() as u32);
    // fragments name their motif by its index in one table (a chunk has few
    // distinct motifs): 4 bytes per fragment instead of 16
    let mut index: HashMap<u128, u32> = HashMap::default();
    let mut table: Vec<u128> = Vec::new();
    let motif_index: Vec<Vec<u32>> = st
        .parts
        .iter()
        .map(|p| {
            flat(p)
                .0
                .iter()
                .map(|&id| {
                    *index.entry(id).or_insert_with(|| {
                        table.push(id);
                        table.len() as u32 - 1
                    })
                })
                .collect()
        })
        .collect();
    w.u128s(&table);
    for (g, (p, made)) in st.parts.iter().zip(&st.created).enumerate() {
        let (_, offsets, nodes) = flat(p);
        w.u32s(&motif_index[g]);
        w.u32s(offsets);
        w.u32s(nodes);
        if let Some(c) = st.cands.get(g) {
            w.candidates(c);
        }
        let made = sorted(made);
        w.len(made.len());
        for (id, n) in made {
            w.u128(id);
            w.u64(n);
        }
    }
    let levels = sorted(&st.level_of);
    w.len(levels.len());
    for (id, l) in levels {
        w.u128(id);
        w.u32(l);
    }
    let children = sorted(&st.children);
    w.len(children.len());
    for (id, k) in children {
        w.u128(id);
        w.u128(k.a);
        w.u128(k.b);
        w.pairs(&k.cross);
    }
    let sum = murmur3_128(&w.0, STATE_SEED);
    w.u128(sum);
    w.0
}

/// The bytes [`encode_state`] writes for `st`, give or take a few.
fn state_size(st: &ShardState) -> usize {
    let parts: usize = st
        .parts
        .iter()
        .zip(&st.created)
        .map(|(p, made)| 48 + 24 * p.len() + 4 * p.num_nodes() + 24 * made.len())
        .sum();
    let cands: usize = st
        .cands
        .iter()
        .map(|c| 24 + 12 * c.list.len() + 4 * (c.succ_off.len() + c.succ.len()))
        .sum();
    let children: usize = st.children.values().map(|k| 56 + 8 * k.cross.len()).sum();
    80 + parts + cands + 20 * st.level_of.len() + children
}

/// Decodes what [`encode_state`] wrote for graphs of `num_nodes` nodes each
/// whose arrays have the fingerprint `graphs`: a state written for other arrays
/// (the corpus changed since) is an [`Error::Format`] saying so. A state that
/// decodes is thus of arrays validated before: [`crate::Dag::rebuild`] them.
pub fn decode_state(bytes: &[u8], num_nodes: &[usize], graphs: u128) -> Result<ShardState> {
    let bad = |why: &str| Error::Format(format!("not a valid archmotif shard state: {why}"));
    let body_end = bytes
        .len()
        .checked_sub(16)
        .filter(|&n| n >= STATE_MAGIC.len() + 4)
        .ok_or_else(|| bad("truncated"))?;
    if &bytes[..STATE_MAGIC.len()] != STATE_MAGIC {
        return Err(bad("missing magic bytes"));
    }
    let stored = u128::from_le_bytes(bytes[body_end..].try_into().expect("16 bytes"));
    if murmur3_128(&bytes[..body_end], STATE_SEED) != stored {
        return Err(bad("checksum mismatch (corrupt or truncated)"));
    }
    let mut r = Reader::new(&bytes[STATE_MAGIC.len()..body_end]);
    let format = |e: Error| match e {
        Error::Format(why) => bad(&why),
        e => e,
    };
    (|| {
        if r.u32()? != STATE_VERSION {
            return Err(Error::Format("another version".into()));
        }
        if r.u128()? != graphs {
            return Err(Error::Format(
                "written for other graphs (the corpus changed since)".into(),
            ));
        }
        let level = r.u64()? as usize;
        let n = r.len(32)?;
        if n != num_nodes.len() {
            return Err(Error::Format(format!(
                "{n} graphs, not {}",
                num_nodes.len()
            )));
        }
        let with_cands = match r.u32()? {
            0 => false,
            1 => true,
            _ => return Err(Error::Format("a bad candidates flag".into())),
        };
        let table = r.u128s()?;
        let mut parts = Vec::with_capacity(n);
        let mut cands = Vec::with_capacity(if with_cands { n } else { 0 });
        let mut created = Vec::with_capacity(n);
        for &nodes_here in num_nodes {
            let motif = r
                .u32s()?
                .into_iter()
                .map(|i| table.get(i as usize).copied())
                .collect::<Option<Vec<u128>>>()
                .ok_or_else(|| Error::Format("a motif index past the motif table".into()))?;
            let (offsets, nodes) = (r.u32s()?, r.u32s()?);
            let p = Partition::from_arrays(nodes_here, motif, offsets, nodes)
                .ok_or_else(|| Error::Format("a partition that does not cover its graph".into()))?;
            parts.push(p);
            if with_cands {
                cands.push(r.candidates()?); // checked against the engine on resuming
            }
            let mut made = HashMap::default();
            for _ in 0..r.len(24)? {
                let id = r.u128()?;
                made.insert(id, r.u64()?);
            }
            created.push(made);
        }
        let mut level_of = HashMap::default();
        for _ in 0..r.len(20)? {
            let id = r.u128()?;
            level_of.insert(id, r.u32()?);
        }
        let mut children = HashMap::default();
        for _ in 0..r.len(56)? {
            let id = r.u128()?;
            let key = Key {
                a: r.u128()?,
                b: r.u128()?,
                cross: r.pairs()?,
            };
            children.insert(id, key);
        }
        r.end()?;
        Ok(ShardState {
            level,
            parts,
            cands,
            created,
            level_of,
            children,
        })
    })()
    .map_err(format)
}

fn sorted<V: Clone>(m: &HashMap<u128, V>) -> Vec<(u128, V)> {
    let mut v: Vec<(u128, V)> = m.iter().map(|(k, v)| (*k, v.clone())).collect();
    v.sort_unstable_by_key(|(k, _)| *k);
    v
}

/// Appends little-endian values; every sequence is its length, then its items.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn new(magic: &[u8], version: u32) -> Self {
        let mut w = Writer(Vec::with_capacity(1 << 12));
        w.0.extend_from_slice(magic);
        w.u32(version);
        w
    }
    pub(crate) fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    pub(crate) fn u128(&mut self, x: u128) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    pub(crate) fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    pub(crate) fn u32s(&mut self, xs: &[u32]) {
        self.len(xs.len());
        self.0.reserve(4 * xs.len());
        self.0.extend(xs.iter().flat_map(|x| x.to_le_bytes()));
    }
    pub(crate) fn pairs(&mut self, xs: &[(u32, u32)]) {
        self.len(xs.len());
        self.0.reserve(8 * xs.len());
        self.0.extend(
            xs.iter()
                .flat_map(|&(a, b)| a.to_le_bytes().into_iter().chain(b.to_le_bytes())),
        );
    }
    pub(crate) fn bytes(&mut self, xs: &[u8]) {
        self.len(xs.len());
        self.0.extend_from_slice(xs);
    }
    pub(crate) fn u128s(&mut self, xs: &[u128]) {
        self.len(xs.len());
        self.0.reserve(16 * xs.len());
        self.0.extend(xs.iter().flat_map(|x| x.to_le_bytes()));
    }
    pub(crate) fn form(&mut self, f: &Form) {
        self.u32s(&f.ops);
        self.pairs(&f.edges);
    }
    /// A graph's candidates (resolved: no fresh keys) and its fragment graph.
    pub(crate) fn candidates(&mut self, c: &Candidates) {
        debug_assert!(
            c.fresh.is_empty(),
            "candidates are resolved before they are kept"
        );
        self.len(c.list.len());
        self.0.reserve(12 * c.list.len());
        for x in &c.list {
            for v in [x.fa, x.fb, x.union] {
                self.0.extend_from_slice(&v.to_le_bytes());
            }
        }
        self.u32s(&c.succ_off);
        self.u32s(&c.succ);
    }
    pub(crate) fn macro_graph(&mut self, m: &Macro) {
        self.u128s(&m.motif_ids);
        self.u32s(&m.node_to_macro);
        self.pairs(&m.quotient.edges);
        self.u32s(&m.quotient.weights);
    }
}

/// Reads what a [`Writer`] wrote; every failure is an [`Error::Format`].
pub(crate) struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Reader { b }
    }
    /// Fails unless every byte was read.
    pub(crate) fn end(&self) -> Result<()> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(Error::Format(format!("{} trailing bytes", self.b.len())))
        }
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.b.len() < n {
            return Err(Error::Format("truncated".into()));
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub(crate) fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(
            self.take(16)?.try_into().expect("16 bytes"),
        ))
    }
    /// A count of items of at least `min_size` bytes each, checked against
    /// the bytes left so a corrupt count cannot ask for a huge allocation.
    pub(crate) fn len(&mut self, min_size: usize) -> Result<usize> {
        let n = self.u64()?;
        if n > (self.b.len() / min_size.max(1)) as u64 {
            return Err(Error::Format(format!("a count of {n} items past the end")));
        }
        Ok(n as usize)
    }
    pub(crate) fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.len(4)?;
        let raw = self.take(4 * n)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }
    pub(crate) fn pairs(&mut self) -> Result<Vec<(u32, u32)>> {
        let n = self.len(8)?;
        let raw = self.take(8 * n)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| {
                let a = u32::from_le_bytes(c[..4].try_into().expect("4 bytes"));
                (a, u32::from_le_bytes(c[4..].try_into().expect("4 bytes")))
            })
            .collect())
    }
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len(1)?;
        self.take(n)
    }
    pub(crate) fn u128s(&mut self) -> Result<Vec<u128>> {
        let n = self.len(16)?;
        let raw = self.take(16 * n)?;
        Ok(raw
            .chunks_exact(16)
            .map(|c| u128::from_le_bytes(c.try_into().expect("16 bytes")))
            .collect())
    }
    pub(crate) fn form(&mut self) -> Result<Form> {
        Ok(Form {
            ops: self.u32s()?,
            edges: self.pairs()?,
        })
    }
    /// What [`Writer::candidates`] wrote (their fit to a partition and an
    /// engine is [`Candidates::fits`]).
    pub(crate) fn candidates(&mut self) -> Result<Candidates> {
        let n = self.len(12)?;
        let raw = self.take(12 * n)?;
        let word = |c: &[u8], i: usize| {
            u32::from_le_bytes(c[4 * i..4 * i + 4].try_into().expect("4 bytes"))
        };
        let list = raw
            .chunks_exact(12)
            .map(|c| Candidate {
                fa: word(c, 0),
                fb: word(c, 1),
                union: word(c, 2),
            })
            .collect();
        Ok(Candidates {
            list,
            fresh: Vec::new(),
            succ_off: self.u32s()?,
            succ: self.u32s()?,
            by_class: None,
            cross: None,
        })
    }
    /// A macro graph, checked to be whole: one weight per edge, every node and
    /// edge end on an existing macro node.
    pub(crate) fn macro_graph(&mut self) -> Result<Macro> {
        let motif_ids = self.u128s()?;
        let node_to_macro = self.u32s()?;
        let edges = self.pairs()?;
        let weights = self.u32s()?;
        if weights.len() != edges.len() {
            return Err(Error::Format(
                "macro edge weights do not match its edges".into(),
            ));
        }
        let n = motif_ids.len();
        if node_to_macro.iter().any(|&m| m as usize >= n) {
            return Err(Error::Format("a node maps to a missing macro node".into()));
        }
        if edges
            .iter()
            .any(|&(a, b)| a as usize >= n || b as usize >= n)
        {
            return Err(Error::Format(
                "a macro edge joins a missing macro node".into(),
            ));
        }
        Ok(Macro {
            motif_ids,
            node_to_macro,
            quotient: Quotient { edges, weights },
        })
    }
}
