//! Mining in shards equals mining in one piece, for any split of any corpus,
//! and shard results survive their byte encoding.

use archmotif_core::batch::{fingerprint, rebuild_all, RawGraph};
use archmotif_core::control::Control;
use archmotif_core::mine::{Miner, Params};
use archmotif_core::shard::{assemble, drive, merge, rank, Shard, ShardResult};
use archmotif_core::wire::{decode, decode_state, encode, encode_state};
use archmotif_core::Dag;
use proptest::prelude::*;

const LABELS: [u64; 3] = [11, 22, 33];

/// A DAG of repeated 3-node blocks with random ops and a few random forward
/// edges, so that merges repeat within and across graphs.
fn graph() -> impl Strategy<Value = (Vec<i32>, Vec<i64>, Vec<i64>)> {
    (
        1..6usize,
        proptest::collection::vec(0..3i32, 3),
        0..4usize,
        any::<u64>(),
    )
        .prop_map(|(blocks, block_ops, extra, seed)| {
            let n = blocks * 3;
            let ops: Vec<i32> = (0..n).map(|v| block_ops[v % 3]).collect();
            let (mut src, mut dst) = (Vec::new(), Vec::new());
            for v in 1..n {
                src.push(v as i64 - 1);
                dst.push(v as i64);
            }
            let mut x = seed | 1;
            for _ in 0..extra {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let a = (x % n as u64) as i64;
                let b = ((x >> 20) % n as u64) as i64;
                if a < b - 1 {
                    src.push(a);
                    dst.push(b);
                }
            }
            (ops, src, dst)
        })
}

/// The round loop as it was before [`settle`]: after every pass, rank the
/// applied counts again and apply the rules that stay again until none goes,
/// to every graph (`prepare` makes a shard forget its last pass, so nothing of
/// it is reused). The oracle `drive` must agree with, level by level.
fn drive_reapplying(
    shards: &mut [(Shard, Vec<&Dag>)],
    p: Params,
    ctl: &Control,
) -> (Vec<Vec<u128>>, usize) {
    let (mut levels, mut passes) = (Vec::new(), 0);
    for _ in 0..p.max_levels {
        let counts: Vec<_> = shards
            .iter_mut()
            .map(|(s, g)| s.count(g, ctl).expect("counts"))
            .collect();
        let mut rules = rank(&counts, p);
        let applied = loop {
            passes += 1;
            let applied: Vec<_> = shards
                .iter_mut()
                .map(|(s, g)| {
                    s.prepare(g, ctl).expect("prepares");
                    s.apply(g, &rules, ctl).expect("applies")
                })
                .collect();
            let keep = rank(&applied, p);
            if keep.len() == rules.len() {
                break applied;
            }
            rules.retain(|id| keep.contains(id));
        };
        if applied.iter().all(|c| c.values().all(|&(n, _)| n == 0)) {
            break;
        }
        for (s, _) in shards.iter_mut() {
            s.commit(rules.clone());
        }
        levels.push(rules);
    }
    (levels, passes)
}

/// One shard per window of `bounds` (sorted cut points, first 0, last `refs.len()`).
fn split<'a>(refs: &[&'a Dag], bounds: &[usize], p: Params) -> Vec<(Shard, Vec<&'a Dag>)> {
    bounds
        .windows(2)
        .map(|w| {
            let part = refs[w[0]..w[1]].to_vec();
            (Shard::new(LABELS.to_vec(), &part, p).expect("shard"), part)
        })
        .collect()
}

/// The generated graphs, validated.
fn validated(raw: &[(Vec<i32>, Vec<i64>, Vec<i64>)]) -> Vec<Dag> {
    raw.iter()
        .map(|(o, s, d)| Dag::validate(3, o, s, d).expect("valid").dag)
        .collect()
}

fn params(min_count: u64, min_support: u64) -> Params {
    Params {
        min_count,
        min_support,
        max_motif_nodes: 12,
        max_levels: 6,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_split_into_shards_mines_like_one_piece(
        raw in proptest::collection::vec(graph(), 1..8),
        cuts in proptest::collection::vec(0..8usize, 0..4),
        min_count in 1..4u64,
        min_support in 1..3u64,
    ) {
        let dags = validated(&raw);
        for ((o, s, d), dag) in raw.iter().zip(&dags) {
            // what a resumed shard rebuilds is what was validated
            prop_assert_eq!(&Dag::rebuild(3, o, s, d).expect("rebuilds"), dag);
        }
        let refs: Vec<&Dag> = dags.iter().collect();
        let p = params(min_count, min_support);
        let ctl = Control::new();
        let whole = Miner::new(LABELS.to_vec()).mine(&refs, p, &ctl).expect("mines");

        let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c % (refs.len() + 1)).collect();
        bounds.push(0);
        bounds.push(refs.len());
        bounds.sort_unstable();
        let mut shards = split(&refs, &bounds, p);
        let rules = drive(&mut shards, p, &ctl).expect("drives");
        let results: Vec<_> = shards
            .into_iter()
            .map(|(s, g)| {
                let (r, _) = s.finish(&g);
                let back = decode(&encode(&r)).expect("decodes");
                assert_eq!(back, r);
                back
            })
            .collect();
        // Streamed mining: a fresh shard replaying the committed rules level by
        // level ends exactly where the driven shard did, and folding the results
        // one at a time with their macro graphs dropped gives the same vocabulary.
        let mut folded = ShardResult::default();
        for (w, driven) in bounds.windows(2).zip(&results) {
            let part = refs[w[0]..w[1]].to_vec();
            let mut fresh = Shard::new(LABELS.to_vec(), &part, p).expect("shard");
            for level in &rules {
                fresh.count(&part, &ctl).expect("counts");
                fresh.apply(&part, level, &ctl).expect("applies");
                fresh.commit(level.clone());
            }
            let (mut replayed, _) = fresh.finish(&part);
            prop_assert_eq!(&replayed, driven);
            replayed.macros.clear();
            folded = merge([folded, replayed]);
        }
        // Streamed mining as it runs: every chunk suspended to bytes between
        // rounds and resumed with one engine the chunks share, never replayed,
        // ends exactly where the driven shard did.
        let mut engine = Some(Miner::new(LABELS.to_vec()));
        let mut states: Vec<Vec<u8>> = Vec::new();
        let chunks: Vec<Vec<&Dag>> = bounds.windows(2).map(|w| refs[w[0]..w[1]].to_vec()).collect();
        for part in &chunks {
            let mut s = Shard::start_with(engine.take().expect("free"), part, p, &ctl).expect("starts");
            s.count(part, &ctl).expect("counts"); // kept in the state with its candidates
            let (st, m) = s.suspend();
            engine = Some(m);
            states.push(encode_state(&st, 7));
        }
        let resume = |bytes: &[u8], miner: Miner, part: &[&Dag]| {
            let sizes: Vec<usize> = part.iter().map(|g| g.num_nodes()).collect();
            let st = decode_state(bytes, &sizes, 7).expect("decodes");
            Shard::resume(miner, st, part, p).expect("resumes")
        };
        for (l, level) in rules.iter().enumerate() {
            for (state, part) in states.iter_mut().zip(&chunks) {
                let mut s = resume(state, engine.take().expect("free"), part);
                s.prepare(part, &ctl).expect("prepares");
                s.apply(part, level, &ctl).expect("applies");
                s.commit(level.clone());
                if l % 2 == 0 {
                    s.count(part, &ctl).expect("counts"); // suspended with candidates or not
                }
                let (st, m) = s.suspend();
                engine = Some(m);
                *state = encode_state(&st, 7);
            }
        }
        for ((state, part), driven) in states.iter().zip(&chunks).zip(&results) {
            let s = resume(state, engine.take().expect("free"), part);
            let (resumed, m) = s.finish(part);
            engine = Some(m);
            prop_assert_eq!(&resumed, driven);
        }

        let (streamed, none) = assemble(vec![folded]);
        prop_assert_eq!(&streamed, &whole.vocabulary);
        prop_assert!(none.is_empty());

        let (vocab, macros) = assemble(results);
        prop_assert_eq!(vocab, whole.vocabulary.clone());
        prop_assert_eq!(macros, whole.macros.clone());

        // Settling a round without applying again when the rules that go claimed
        // nothing ends every round where applying again until no rule goes does.
        let mut reapplied = split(&refs, &bounds, p);
        let (oracle_rules, _) = drive_reapplying(&mut reapplied, p, &ctl);
        prop_assert_eq!(&oracle_rules, &rules);
        let oracle: Vec<_> = reapplied.into_iter().map(|(s, g)| s.finish(&g).0).collect();
        let (oracle_vocab, oracle_macros) = assemble(oracle);
        prop_assert_eq!(&oracle_vocab, &whole.vocabulary);
        prop_assert_eq!(&oracle_macros, &whole.macros);

        // A miner rebuilt from the rules applies them like the one that mined.
        let mut rebuilt = Miner::with_rules(LABELS.to_vec(), rules, &whole.vocabulary);
        prop_assert_eq!(rebuilt.apply(&refs, &ctl).expect("applies"), whole.macros);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Applying again with some rules left out redoes only the graphs where a
    /// rule left out claimed a merge; the others keep their last pass. The round
    /// must end exactly where a shard that applied only the rules left ends.
    #[test]
    fn applying_again_with_fewer_rules_matches_a_fresh_pass(
        raw in proptest::collection::vec(graph(), 1..8),
        keep in proptest::collection::vec(any::<bool>(), 64),
        min_count in 1..4u64,
    ) {
        let dags = validated(&raw);
        let refs: Vec<&Dag> = dags.iter().collect();
        let p = params(min_count, 1);
        let ctl = Control::new();
        let mut again = Shard::new(LABELS.to_vec(), &refs, p).expect("shard");
        let rules = rank(&[again.count(&refs, &ctl).expect("counts")], p);
        again.apply(&refs, &rules, &ctl).expect("applies");
        let fewer: Vec<u128> = rules
            .iter()
            .zip(keep.iter().cycle())
            .filter_map(|(&id, &k)| k.then_some(id))
            .collect();
        let reused = again.apply(&refs, &fewer, &ctl).expect("applies again");
        let mut fresh = Shard::new(LABELS.to_vec(), &refs, p).expect("shard");
        fresh.count(&refs, &ctl).expect("counts");
        let direct = fresh.apply(&refs, &fewer, &ctl).expect("applies");
        prop_assert_eq!(&reused, &direct);
        again.commit(fewer.clone());
        fresh.commit(fewer);
        prop_assert_eq!(again.finish(&refs).0, fresh.finish(&refs).0);
    }
}

#[test]
fn corrupt_bytes_are_format_errors_not_panics() {
    let dag = Dag::validate(3, &[0, 1, 0, 1], &[0, 1, 2], &[1, 2, 3])
        .expect("valid")
        .dag;
    let p = params(2, 1);
    let ctl = Control::new();
    let mut shards = vec![(
        Shard::new(LABELS.to_vec(), &[&dag], p).expect("shard"),
        vec![&dag],
    )];
    drive(&mut shards, p, &ctl).expect("drives");
    let (s, g) = shards.pop().expect("one shard");
    let bytes = encode(&s.finish(&g).0);
    for cut in 0..bytes.len() {
        assert!(
            decode(&bytes[..cut]).is_err(),
            "a prefix of {cut} bytes decoded"
        );
    }
    let mut flipped = bytes.clone();
    flipped[8] ^= 0xff; // the version
    assert!(decode(&flipped)
        .unwrap_err()
        .to_string()
        .contains("version"));
    let mut huge = bytes.clone();
    huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes()); // the first count
    assert!(decode(&huge).is_err());
}

/// The graphs' arrays as the core's borrowed view.
fn raw_graphs(raw: &[(Vec<i32>, Vec<i64>, Vec<i64>)]) -> Vec<RawGraph<'_>> {
    raw.iter()
        .map(|(o, s, d)| RawGraph {
            ops: o,
            src: s,
            dst: d,
        })
        .collect()
}
#[test]
fn damaged_shard_states_are_format_errors_not_panics() {
    let raw: Vec<(Vec<i32>, Vec<i64>, Vec<i64>)> = vec![
        (vec![0, 1, 0, 1, 2], vec![0, 1, 2, 3], vec![1, 2, 3, 4]),
        (vec![0, 1, 0, 1], vec![0, 1, 2, 0], vec![1, 2, 3, 2]),
    ];
    let dags = validated(&raw);
    let refs: Vec<&Dag> = dags.iter().collect();
    let sizes: Vec<usize> = refs.iter().map(|g| g.num_nodes()).collect();
    let p = params(2, 1);
    let ctl = Control::new();
    let mut s = Shard::new(LABELS.to_vec(), &refs, p).expect("shard");
    s.count(&refs, &ctl).expect("counts");
    let (st, miner) = s.suspend();
    let fp = fingerprint(&raw_graphs(&raw));
    let bytes = encode_state(&st, fp);
    for cut in 0..bytes.len() {
        assert!(
            decode_state(&bytes[..cut], &sizes, fp).is_err(),
            "a prefix of {cut} bytes decoded"
        );
    }
    for at in (0..bytes.len()).step_by(7) {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x10;
        assert!(
            decode_state(&flipped, &sizes, fp).is_err(),
            "byte {at} flipped decoded"
        );
    }
    assert!(decode_state(&bytes, &sizes[..1], fp).is_err());
    // the same sizes but other arrays (an edge moved): the corpus changed since
    let mut moved = raw.clone();
    moved[0].1[3] = 2;
    let err = decode_state(&bytes, &sizes, fingerprint(&raw_graphs(&moved)))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("changed"), "{err}");
    // a state's graphs were validated when it was first written: rebuilt, they are the same
    assert_eq!(rebuild_all(3, &raw_graphs(&raw)).expect("rebuilds"), dags);
    // the kept candidates index the engine's unions: a fresh engine has none
    let st = decode_state(&bytes, &sizes, fp).expect("decodes");
    let err = Shard::resume(Miner::new(LABELS.to_vec()), st, &refs, p)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("candidates"), "{err}");
    let st = decode_state(&bytes, &sizes, fp).expect("decodes");
    let mut back = Shard::resume(miner, st, &refs, p).expect("resumes with its engine");
    back.prepare(&refs, &ctl).expect("prepares");
}
