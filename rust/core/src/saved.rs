//! The mined-corpus file (`Mined.save` in Python): a [`MinedCorpus`] as bytes,
//! so a vocabulary is mined once and used again (applied to new graphs, its
//! contexts and macro graphs read) without mining again.
//!
//! Layout (little-endian, the primitives of [`crate::wire`]): the magic bytes
//! `AMMINED\0`, a `u32` format version, the body, then a 128-bit checksum
//! (MurmurHash3 of every byte before it, [`crate::hash::murmur3_128`]). The body
//! holds the strategy, the parameters (as name/value pairs, [`Params::named`]:
//! a parameter added to [`Params`] is written and read with no change here),
//! the op names, each level's
//! rules, the vocabulary, and optionally the graphs, as the caller gave them
//! (edges in the caller's order, so they read back as they were) with their macro
//! graphs; then an opaque `extra` block the caller fills (Python keeps the
//! graphs' names and labels there).
//!
//! Decoding trusts nothing: the magic, then the version (a newer file says so
//! instead of failing somewhere in its body), then the checksum, then every
//! length against the bytes left, and at the end every cross-reference (op ids
//! below the op names, rules and macro nodes naming vocabulary motifs, graphs
//! that validate and match their macro graphs). A file that fails any of these
//! is an [`Error::Format`] saying which, never a panic.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::batch::RawGraph;
use crate::error::{Error, Result};
use crate::graph::Dag;
use crate::hash::murmur3_128;
use crate::mine::{Engine, Mined, Motif, Params, Strategy};
use crate::wire::{Reader, Writer};

const MAGIC: &[u8; 8] = b"AMMINED\0";
/// The newest format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Seed of the checksum ("amsaved1" in ASCII).
const CHECK_SEED: u64 = 0x616d_7361_7665_6431;

/// A mined corpus, whole: how it was mined, what was found and (optionally)
/// the graphs it was found in.
#[derive(Debug, Clone)]
pub struct MinedCorpus {
    pub strategy: Strategy,
    pub params: Params,
    pub op_names: Vec<String>,
    /// The rules of each level, best first (none for `nar`).
    pub rules: Vec<Vec<u128>>,
    /// The vocabulary and the macro graphs (none when the graphs are elsewhere).
    pub mined: Mined,
    /// The graphs, in the order of the macro graphs; empty when not kept.
    pub graphs: Vec<Dag>,
}

impl MinedCorpus {
    /// An engine that contracts new graphs as this corpus was contracted.
    pub fn engine(&self) -> Engine {
        let labels: Vec<u64> = self
            .op_names
            .iter()
            .map(|n| crate::hash::op_label(n))
            .collect();
        Engine::new(
            self.strategy,
            labels,
            self.rules.clone(),
            &self.mined.vocabulary,
            self.params,
        )
    }
}

/// What [`decode`] gives back: the corpus, each graph's edges in the order they
/// were saved in (a [`Dag`] keeps them sorted), and the caller's extra bytes.
pub type Decoded = (MinedCorpus, Vec<Vec<(u32, u32)>>, Vec<u8>);

/// Encodes `c` with the caller's `extra` bytes (see the module docs): with
/// `graphs` (the corpus's graphs, in its order and as the caller holds them)
/// and the macro graphs, or without either.
pub fn encode(c: &MinedCorpus, graphs: Option<&[RawGraph<'_>]>, extra: &[u8]) -> Vec<u8> {
    let mut w = Writer::new(MAGIC, VERSION);
    w.u32(match c.strategy {
        Strategy::Merge => 0,
        Strategy::Nar => 1,
    });
    let named = c.params.named();
    w.len(named.len());
    for (name, value) in named {
        w.bytes(name.as_bytes());
        w.u64(value);
    }
    w.len(c.op_names.len());
    for n in &c.op_names {
        w.bytes(n.as_bytes());
    }
    w.len(c.rules.len());
    for level in &c.rules {
        w.u128s(level);
    }
    w.len(c.mined.vocabulary.len());
    for m in &c.mined.vocabulary {
        w.u128(m.id);
        w.form(&m.form);
        w.u32(m.level);
        w.u128s(&m.children);
        w.u64(m.count);
        w.u64(m.support);
    }
    let (macros, graphs) = match graphs {
        Some(g) => (&c.mined.macros[..], g),
        None => (&[][..], &[][..]),
    };
    w.len(macros.len());
    for m in macros {
        w.macro_graph(m);
    }
    w.len(graphs.len());
    for g in graphs {
        // ids were validated when the caller's graphs were made (and are again on reading)
        w.u32s(&g.ops.iter().map(|&o| o as u32).collect::<Vec<_>>());
        let edges: Vec<(u32, u32)> = g
            .src
            .iter()
            .zip(g.dst)
            .map(|(&a, &b)| (a as u32, b as u32))
            .collect();
        w.pairs(&edges);
    }
    w.bytes(extra);
    let sum = murmur3_128(&w.0, CHECK_SEED);
    w.u128(sum);
    w.0
}

/// Decodes what [`encode`] wrote (see [`Decoded`]).
pub fn decode(bytes: &[u8]) -> Result<Decoded> {
    let bad = |why: String| Error::Format(format!("not a valid archmotif mined file: {why}"));
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(bad("missing magic bytes (another kind of file)".into()));
    }
    let mut head = Reader::new(&bytes[MAGIC.len()..]);
    let version = head.u32().map_err(|_| bad("truncated".into()))?;
    if version > VERSION {
        return Err(Error::Format(format!(
            "mined file version {version} is newer than this archmotif reads ({VERSION}); \
             upgrade archmotif"
        )));
    }
    if version == 0 {
        return Err(bad("version 0".into()));
    }
    let Some(body_end) = bytes
        .len()
        .checked_sub(16)
        .filter(|&n| n >= MAGIC.len() + 4)
    else {
        return Err(bad("truncated".into()));
    };
    let stored = u128::from_le_bytes(bytes[body_end..].try_into().expect("16 bytes"));
    if murmur3_128(&bytes[..body_end], CHECK_SEED) != stored {
        return Err(bad("checksum mismatch (corrupt or truncated)".into()));
    }
    let mut r = Reader::new(&bytes[MAGIC.len() + 4..body_end]);
    body(&mut r).map_err(|e| match e {
        Error::Format(why) => bad(why),
        e => e,
    })
}

fn body(r: &mut Reader<'_>) -> Result<Decoded> {
    let strategy = match r.u32()? {
        0 => Strategy::Merge,
        1 => Strategy::Nar,
        s => return Err(Error::Format(format!("unknown strategy {s}"))),
    };
    let mut named = Vec::new();
    for _ in 0..r.len(16)? {
        named.push((text(r.bytes()?)?, r.u64()?));
    }
    let params = Params::from_named(&named).map_err(|e| Error::Format(e.to_string()))?;
    let mut op_names = Vec::new();
    for _ in 0..r.len(8)? {
        op_names.push(text(r.bytes()?)?);
    }
    let mut rules = Vec::new();
    for _ in 0..r.len(8)? {
        rules.push(r.u128s()?);
    }
    let mut vocabulary = Vec::new();
    for _ in 0..r.len(64)? {
        vocabulary.push(Motif {
            id: r.u128()?,
            form: r.form()?,
            level: r.u32()?,
            children: r.u128s()?,
            count: r.u64()?,
            support: r.u64()?,
        });
    }
    let mut macros = Vec::new();
    for _ in 0..r.len(32)? {
        macros.push(r.macro_graph()?);
    }
    let mut graphs = Vec::new();
    let mut given = Vec::new();
    for _ in 0..r.len(16)? {
        let ops: Vec<i32> = r.u32s()?.into_iter().map(|o| o as i32).collect();
        let edges = r.pairs()?;
        let src: Vec<i64> = edges.iter().map(|&(a, _)| a as i64).collect();
        let dst: Vec<i64> = edges.iter().map(|&(_, b)| b as i64).collect();
        let v = Dag::validate(op_names.len(), &ops, &src, &dst)
            .map_err(|e| Error::Format(format!("graph {}: {e}", graphs.len())))?;
        if v.kept_edges.is_some() {
            return Err(Error::Format(format!(
                "graph {} repeats an edge",
                graphs.len()
            )));
        }
        graphs.push(v.dag);
        given.push(edges);
    }
    let extra = r.bytes()?.to_vec();
    r.end()?;
    let corpus = MinedCorpus {
        strategy,
        params,
        op_names,
        rules,
        mined: Mined { vocabulary, macros },
        graphs,
    };
    check(&corpus)?;
    Ok((corpus, given, extra))
}

fn text(b: &[u8]) -> Result<String> {
    String::from_utf8(b.to_vec()).map_err(|_| Error::Format("a name is not UTF-8".into()))
}

/// The cross-references of a decoded corpus (see the module docs).
fn check(c: &MinedCorpus) -> Result<()> {
    let fail = |why: &str| Err(Error::Format(why.into()));
    let num_ops = c.op_names.len();
    let mut ids: HashSet<u128> = HashSet::default();
    for m in &c.mined.vocabulary {
        if !ids.insert(m.id) {
            return fail("a motif id appears twice in the vocabulary");
        }
        let n = m.form.ops.len();
        if n == 0 || m.form.ops.iter().any(|&o| o as usize >= num_ops) {
            return fail("a motif has no ops or an op id past the op names");
        }
        if m.form
            .edges
            .iter()
            .any(|&(a, b)| a as usize >= n || b as usize >= n)
        {
            return fail("a motif edge joins a missing position");
        }
    }
    let in_vocab = |id: &u128| ids.contains(id);
    // (a `nar` motif's children name the segments it was cut from, not entries)
    let merged = c.strategy == Strategy::Merge;
    if merged
        && !c
            .mined
            .vocabulary
            .iter()
            .flat_map(|m| &m.children)
            .all(in_vocab)
    {
        return fail("a motif is made of motifs the vocabulary lacks");
    }
    if c.strategy == Strategy::Nar && !c.rules.is_empty() {
        return fail("a nar vocabulary has merge rules");
    }
    if !c.rules.iter().flatten().all(in_vocab) {
        return fail("a rule names a motif the vocabulary lacks");
    }
    if !c
        .mined
        .macros
        .iter()
        .flat_map(|m| &m.motif_ids)
        .all(in_vocab)
    {
        return fail("a macro node is a motif the vocabulary lacks");
    }
    if c.graphs.len() != c.mined.macros.len() {
        return fail("the graphs and the macro graphs differ in number");
    }
    {
        for (g, m) in c.graphs.iter().zip(&c.mined.macros) {
            if g.num_nodes() != m.node_to_macro.len() {
                return fail("a macro graph does not cover its graph's nodes");
            }
        }
    }
    let sizes: HashMap<u128, usize> = c
        .mined
        .vocabulary
        .iter()
        .map(|m| (m.id, m.form.ops.len()))
        .collect();
    if c.rules
        .iter()
        .flatten()
        .any(|id| sizes[id] > c.params.max_motif_nodes)
    {
        return fail("a rule makes a motif larger than max_motif_nodes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Control;
    use crate::hash::op_label;
    use crate::mine::mine;

    fn corpus(strategy: Strategy) -> MinedCorpus {
        let op_names: Vec<String> = ["conv", "relu", "add"].map(String::from).to_vec();
        let labels: Vec<u64> = op_names.iter().map(|n| op_label(n)).collect();
        let ops: Vec<i32> = (0..12).map(|v| [0, 1, 2][v % 3]).collect();
        let src: Vec<i64> = (0..11).collect();
        let dst: Vec<i64> = (1..12).collect();
        let graphs: Vec<Dag> = (0..3)
            .map(|_| Dag::validate(3, &ops, &src, &dst).unwrap().dag)
            .collect();
        let refs: Vec<&Dag> = graphs.iter().collect();
        let params = Params::from_named(&[
            ("min_count", 2),
            ("min_support", 1),
            ("max_motif_nodes", 8),
            ("max_levels", 4),
        ])
        .unwrap();
        let (mined, engine) = mine(strategy, &refs, &labels, params, &Control::new()).unwrap();
        MinedCorpus {
            strategy,
            params,
            op_names,
            rules: engine.rules().to_vec(),
            mined,
            graphs,
        }
    }

    type Arrays = (Vec<i32>, Vec<(u32, u32)>, Vec<i64>, Vec<i64>);

    fn raws(c: &MinedCorpus) -> Vec<Arrays> {
        c.graphs
            .iter()
            .map(|g| {
                let ops = g.ops().iter().map(|&o| o as i32).collect();
                let mut e: Vec<(u32, u32)> = g.edges().collect();
                e.reverse(); // not the Dag's order: the caller's order must survive
                let src = e.iter().map(|&(a, _)| a as i64).collect();
                let dst = e.iter().map(|&(_, b)| b as i64).collect();
                (ops, e, src, dst)
            })
            .collect()
    }

    fn raw_views(a: &[Arrays]) -> Vec<RawGraph<'_>> {
        a.iter()
            .map(|(ops, _, src, dst)| RawGraph { ops, src, dst })
            .collect()
    }

    /// `bytes` with its checksum made right again, as a forger would.
    fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
        let end = bytes.len() - 16;
        let sum = murmur3_128(&bytes[..end], CHECK_SEED);
        bytes[end..].copy_from_slice(&sum.to_le_bytes());
        bytes
    }

    #[test]
    fn round_trips_and_applies_like_the_original() {
        for strategy in [Strategy::Merge, Strategy::Nar] {
            let c = corpus(strategy);
            assert!(strategy == Strategy::Nar || !c.rules.is_empty());
            let raws = raws(&c);
            let bytes = encode(&c, Some(&raw_views(&raws)), b"extra");
            let (back, edges, extra) = decode(&bytes).unwrap();
            assert_eq!(edges, raws.iter().map(|r| r.1.clone()).collect::<Vec<_>>());
            assert_eq!(extra, b"extra");
            assert_eq!(back.mined.vocabulary, c.mined.vocabulary);
            assert_eq!(back.mined.macros, c.mined.macros);
            assert_eq!(back.rules, c.rules);
            assert_eq!(encode(&back, Some(&raw_views(&raws)), b"extra"), bytes);
            let bare = decode(&encode(&c, None, b"")).unwrap().0;
            assert!(bare.graphs.is_empty() && bare.mined.macros.is_empty());
            let refs: Vec<&Dag> = c.graphs.iter().collect();
            let ctl = Control::new();
            let applied = back.engine().apply(&refs, &ctl).unwrap();
            assert_eq!(applied, c.mined.macros);
        }
    }

    #[test]
    fn every_damaged_or_forged_file_is_a_format_error() {
        let c = corpus(Strategy::Merge);
        let raws = raws(&c);
        let g = Some(&raw_views(&raws)[..]);
        let good = encode(&c, g, b"");
        let mut newer = good.clone();
        newer[8] = 9;
        let mut flipped = good.clone();
        flipped[40] ^= 1;
        // a rule naming a motif the vocabulary lacks, checksum made right
        let mut forged = c.clone();
        forged.rules[0][0] = 12345;
        let forged = resealed(encode(&forged, g, b""));
        let mut big_ops = c.clone();
        big_ops.mined.vocabulary[0].form.ops[0] = 99;
        let big_ops = resealed(encode(&big_ops, g, b""));
        let cases: [(&[u8], &str); 7] = [
            (&good[..good.len() - 1], "checksum"),
            (&good[..10], "truncated"),
            (b"AMSHARD\0\x01\0\0\0", "magic"),
            (&newer, "newer"),
            (&flipped, "checksum"),
            (&forged, "rule names a motif"),
            (&big_ops, "op id past"),
        ];
        for (bytes, what) in cases {
            let err = decode(bytes).unwrap_err();
            assert!(matches!(err, Error::Format(_)), "{what}: {err:?}");
            assert!(err.to_string().contains(what), "{what}: {err}");
        }
    }
}
