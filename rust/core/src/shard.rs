//! Mining split into shards that a coordinator drives round by round, so a
//! corpus can be mined on several machines with the result of one.
//!
//! A [`Shard`] holds the partitions of its graphs between rounds. Each round:
//! 1. [`Shard::count`] finds and counts this shard's candidate merges;
//! 2. the coordinator sums every shard's [`Counts`] and ranks them with [`rank`];
//! 3. [`Shard::apply`] applies the ranked rules and returns what was applied;
//!    the coordinator [`settle`]s the round: the rules that stay frequent once
//!    applied, and whether step 3 must be repeated with them (only when a rule
//!    that fell below the thresholds had claimed a merge somewhere);
//! 4. [`Shard::commit`] keeps the round. When no shard applied anything the
//!    coordinator stops and merges every shard's [`ShardResult`] with [`assemble`].
//!
//! Every decision depends only on sums of per-graph counts and on canonical
//! ids, and the merge of results is a sum (counts, support), a minimum (first
//! level, children key) or a union (forms), so any split of a corpus into shards
//! gives exactly the vocabulary and macro graphs of one shard holding it all.
//! [`crate::mine::Miner::mine`] is this loop with one shard.
//!
//! A shard can also step aside between rounds: [`Shard::suspend`] hands back
//! its [`ShardState`] (partitions and what it created; [`crate::wire`] encodes it)
//! and its engine, and [`Shard::resume`] picks the state up again with an engine,
//! possibly one that other shards used in between. Streamed mining keeps every
//! chunk's state on disk this way and one engine in memory, so a round reads and
//! writes each chunk once instead of replaying every level decided so far.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use rayon::prelude::*;

use crate::candidate::Candidates;
use crate::control::Control;
use crate::error::{Error, Result};
use crate::graph::Dag;
use crate::motif::{Form, Key, Macro, Motif, Params};
use crate::round::{macro_of, Miner, Partition};

/// Per candidate id: (greedy non-overlapping occurrences, graphs with one).
pub type Counts = HashMap<u128, (u64, u64)>;

/// What a shard hands back at the end: vocabulary statistics of its graphs and
/// their macro graphs, in the shard's graph order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShardResult {
    /// Every motif with an instance here: (instances, graphs).
    pub stats: Counts,
    /// First level at which each merged motif was created here.
    pub level_of: HashMap<u128, u32>,
    /// The smallest key that created each merged motif here.
    pub children: HashMap<u128, Key>,
    pub forms: HashMap<u128, Form>,
    pub macros: Vec<Macro>,
}

/// What a suspended shard keeps between rounds (see [`Shard::suspend`]).
pub struct ShardState {
    pub(crate) level: usize,
    pub(crate) parts: Vec<Partition>,
    /// The candidates of `parts` when the shard counted them before it was
    /// suspended (one per graph), so the round that applies them need not
    /// find them again; otherwise empty.
    pub(crate) cands: Vec<Candidates>,
    pub(crate) created: Vec<HashMap<u128, u64>>,
    pub(crate) level_of: HashMap<u128, u32>,
    pub(crate) children: HashMap<u128, Key>,
}

/// One graph's partition after [`Shard::apply`] and the candidate index of
/// each merge it kept.
type Pending = (Partition, Vec<u32>);

/// The mining state of one shard of a corpus between rounds.
pub struct Shard {
    miner: Miner,
    params: Params,
    /// Levels committed by this shard (its engine may have seen more, when
    /// other shards shared it).
    level: usize,
    parts: Vec<Partition>,
    /// Empty, or the candidates of `parts` (one per graph).
    cands: Vec<Candidates>,
    /// After [`Shard::apply`]: each graph's new partition and its kept merges.
    pending: Vec<Pending>,
    /// After [`Shard::apply`]: the rules it applied and, per graph, what each
    /// rule claimed there (merges kept; 0 for a rule whose merges were all
    /// undone). Applying again in the same round redoes only the graphs where
    /// a rule that goes claimed something.
    claims: (Vec<u128>, Vec<HashMap<u128, u64>>),
    created: Vec<HashMap<u128, u64>>,
    level_of: HashMap<u128, u32>,
    children: HashMap<u128, Key>,
}

impl Shard {
    /// A shard of `graphs` whose op ids label nodes with `op_labels[op]`.
    pub fn new(op_labels: Vec<u64>, graphs: &[&Dag], params: Params) -> Result<Shard> {
        Shard::start(op_labels, graphs, params, &Control::new())
    }

    /// [`Shard::new`] that `ctl` can cancel.
    pub fn start(
        op_labels: Vec<u64>,
        graphs: &[&Dag],
        params: Params,
        ctl: &Control,
    ) -> Result<Shard> {
        Shard::start_with(Miner::new(op_labels), graphs, params, ctl)
    }

    /// [`Shard::start`] with an engine other shards may share (between their
    /// rounds, never at once): it caches what every shard canonicalised.
    pub fn start_with(
        mut miner: Miner,
        graphs: &[&Dag],
        params: Params,
        ctl: &Control,
    ) -> Result<Shard> {
        params.check()?;
        let parts = miner.initial(graphs, ctl)?;
        Ok(Shard {
            miner,
            params,
            level: 0,
            parts,
            cands: Vec::new(),
            pending: Vec::new(),
            claims: Default::default(),
            created: vec![HashMap::default(); graphs.len()],
            level_of: HashMap::default(),
            children: HashMap::default(),
        })
    }

    /// Levels committed so far.
    pub fn level(&self) -> usize {
        self.level
    }

    /// Steps aside between rounds: this shard's state (with the candidates it
    /// counted, if it counted since it last committed) and its engine.
    pub fn suspend(self) -> (ShardState, Miner) {
        // node-level, as the state is written: no merge steps or carried edges
        let parts = self
            .parts
            .par_iter()
            .map(|p| self.miner.flatten(p))
            .collect();
        let state = ShardState {
            level: self.level,
            parts,
            cands: self.cands,
            created: self.created,
            level_of: self.level_of,
            children: self.children,
        };
        (state, self.miner)
    }

    /// Picks up a [`Shard::suspend`]ed state of `graphs` (the same graphs, in
    /// the same order) with `miner`, which must have seen at least the motifs
    /// of this shard (the engine it was suspended with, or one shared with it).
    pub fn resume(
        miner: Miner,
        state: ShardState,
        graphs: &[&Dag],
        params: Params,
    ) -> Result<Shard> {
        params.check()?;
        let fits = state.parts.len() == graphs.len()
            && state.created.len() == graphs.len()
            && state
                .parts
                .iter()
                .zip(graphs)
                .all(|(p, g)| p.num_nodes() == g.num_nodes());
        if !fits {
            return Err(Error::Format(
                "a shard state that is not of these graphs".into(),
            ));
        }
        // candidates index the engine's unions: only one that has seen them fits
        let cands_fit = state.cands.is_empty()
            || state.cands.len() == state.parts.len()
                && state
                    .cands
                    .iter()
                    .zip(&state.parts)
                    .all(|(c, p)| c.fits(p.len(), miner.num_unions()));
        if !cands_fit {
            return Err(Error::Format(
                "a shard state whose candidates are not of its partitions or engine".into(),
            ));
        }
        Ok(Shard {
            miner,
            params,
            level: state.level,
            parts: state.parts,
            cands: state.cands,
            pending: Vec::new(),
            claims: Default::default(),
            created: state.created,
            level_of: state.level_of,
            children: state.children,
        })
    }

    /// Starts a round: this shard's candidate merges, counted.
    pub fn count(&mut self, graphs: &[&Dag], ctl: &Control) -> Result<Counts> {
        self.prepare(graphs, ctl)?;
        let (miner, parts, cands) = (&self.miner, &self.parts, &mut self.cands);
        let per_graph: Vec<HashMap<u128, u64>> = cands
            .par_iter_mut()
            .zip(parts)
            .map(|(c, p)| {
                ctl.check()?;
                Ok(miner.count(c, p.len()))
            })
            .collect::<Result<_>>()?;
        Ok(totals(&per_graph))
    }

    /// Starts a round whose counts are known already (a resumed shard whose
    /// counts were taken before it was suspended): the candidate merges
    /// [`Shard::apply`] needs, not counted; found again only when the state
    /// did not keep them.
    pub fn prepare(&mut self, graphs: &[&Dag], ctl: &Control) -> Result<()> {
        self.pending.clear();
        self.claims = Default::default();
        if self.cands.len() == self.parts.len() {
            return Ok(()); // found since the last commit (or no graphs)
        }
        let max_nodes = self.params.max_motif_nodes;
        let (parts, miner) = (&self.parts, &self.miner);
        let mut cands: Vec<Candidates> = graphs
            .par_iter()
            .zip(parts)
            .map(|(g, p)| miner.candidates(g, p, max_nodes, ctl))
            .collect::<Result<_>>()?;
        self.miner.resolve(&mut cands, ctl)?;
        self.cands = cands;
        Ok(())
    }

    /// Applies `rules` (best first) to every graph of the shard; returns the
    /// merges kept, counted like candidates, and every rule that claimed a merge
    /// only to see the cycle check undo it, with (0, 0) where it kept none: a rule
    /// absent from the counts claimed nothing ([`settle`] tells the difference).
    ///
    /// Applied again in the same round with some of the last rules left out (what
    /// [`settle`] asks for), a graph where none of the rules left out claimed a
    /// merge keeps its last result: those rules marked no fragment used there, so
    /// the others claim the same merges in the same order (see
    /// [`Miner::apply_rules`]). Only the other graphs are applied again.
    pub fn apply(&mut self, graphs: &[&Dag], rules: &[u128], ctl: &Control) -> Result<Counts> {
        let rank = self.miner.rule_ranks(rules);
        let (last_rules, last_claims) = std::mem::take(&mut self.claims);
        let again = self.pending.len() == graphs.len()
            && last_claims.len() == graphs.len()
            && is_subsequence(rules, &last_rules);
        let redo: Vec<bool> = if again {
            let ruled: HashSet<u128> = rules.iter().copied().collect();
            let gone: HashSet<u128> = last_rules
                .iter()
                .copied()
                .filter(|id| !ruled.contains(id))
                .collect();
            // a graph's claims are usually fewer than the rules that go
            last_claims
                .par_iter()
                .map(|m| m.keys().any(|id| gone.contains(id)))
                .collect()
        } else {
            vec![true; graphs.len()]
        };
        let miner = &self.miner;
        let fresh: Vec<Option<(Pending, HashMap<u128, u64>)>> = self
            .parts
            .par_iter()
            .zip(&self.cands)
            .zip(&redo)
            .map(|((p, c), &redo)| {
                let out = if redo {
                    let out = miner.apply_rules(p, c, &rank, ctl)?;
                    let mut m = HashMap::default();
                    for id in out.undone {
                        m.insert(id, 0);
                    }
                    // merges come in rank order, so a rule's are one run
                    let id = |i: u32| miner.union_id(c, i);
                    for run in out.kept.chunk_by(|&x, &y| id(x) == id(y)) {
                        *m.entry(id(run[0])).or_insert(0) += run.len() as u64;
                    }
                    Some(((out.part, out.kept), m))
                } else {
                    None
                };
                ctl.advance(1);
                Ok(out)
            })
            .collect::<Result<_>>()?;
        let mut pending = std::mem::take(&mut self.pending);
        let mut claims = last_claims;
        if !again {
            pending.clear();
            claims.clear();
        }
        for (g, out) in fresh.into_iter().enumerate() {
            if let Some((part, m)) = out {
                if again {
                    pending[g] = part;
                    claims[g] = m;
                } else {
                    pending.push(part);
                    claims.push(m);
                }
            }
        }
        let counts = totals(&claims);
        self.pending = pending;
        self.claims = (rules.to_vec(), claims);
        Ok(counts)
    }

    /// Keeps the last [`Shard::apply`] as the next level, made of `rules`.
    pub fn commit(&mut self, rules: Vec<u128>) {
        self.level += 1;
        let level = self.level as u32;
        let pending = std::mem::take(&mut self.pending);
        let (_, claims) = std::mem::take(&mut self.claims);
        // apply sets both, over the candidates it applied: zips must not cut
        assert!(
            claims.len() == pending.len() && self.cands.len() == pending.len(),
            "commit without a full apply"
        );
        // Each graph adds what it created (its claims: the merges it kept, by
        // rule), in parallel; the level and the smallest key of each motif are
        // taken once per union the merges used.
        let num_unions = self.miner.num_unions();
        let unions: Vec<Vec<u32>> = pending
            .par_iter()
            .zip(&self.cands)
            .zip(&mut self.created)
            .zip(&claims)
            .map(|((((_, kept), c), made), claimed)| {
                for (&id, &n) in claimed.iter().filter(|(_, &n)| n > 0) {
                    *made.entry(id).or_insert(0) += n;
                }
                let mut us: Vec<u32> = kept.iter().map(|&i| c.list[i as usize].union).collect();
                if us.len() >= num_unions / 8 {
                    // many merges (a big graph): one pass over a table, no sort
                    let mut seen = vec![false; num_unions];
                    us.retain(|&u| !std::mem::replace(&mut seen[u as usize], true));
                } else {
                    us.sort_unstable();
                    us.dedup();
                }
                us
            })
            .collect();
        let mut seen = vec![false; num_unions];
        for &u in unions.iter().flatten() {
            if std::mem::replace(&mut seen[u as usize], true) {
                continue;
            }
            let (id, key) = self.miner.union(u);
            self.level_of.entry(id).or_insert(level);
            match self.children.get(&id) {
                Some(k) if k <= key => {}
                _ => {
                    self.children.insert(id, key.clone());
                }
            }
        }
        self.parts = pending.into_iter().map(|(part, _)| part).collect();
        self.cands.clear();
        // a shared engine learns each level's rules from the first shard to commit it
        if self.miner.num_levels() < self.level {
            self.miner.push_rules(rules);
        }
    }

    /// Ends mining: this shard's statistics and macro graphs, and its engine
    /// (which holds every level's rules, to apply them to new graphs).
    pub fn finish(self, graphs: &[&Dag]) -> (ShardResult, Miner) {
        // each graph's op counts in parallel, summed here per distinct op
        let ops_of: Vec<HashMap<u32, u64>> = graphs
            .par_iter()
            .map(|g| {
                let mut ops_here: HashMap<u32, u64> = HashMap::default();
                for &op in g.ops() {
                    *ops_here.entry(op).or_insert(0) += 1;
                }
                ops_here
            })
            .collect();
        let mut stats: Counts = HashMap::default();
        for (ops_here, made) in ops_of.into_iter().zip(&self.created) {
            for (op, n) in ops_here {
                let s = stats.entry(self.miner.single(op)).or_insert((0, 0));
                s.0 += n;
                s.1 += 1;
            }
            for (&id, &n) in made {
                let s = stats.entry(id).or_insert((0, 0));
                s.0 += n;
                s.1 += 1;
            }
        }
        let forms = stats
            .keys()
            .map(|id| {
                (
                    *id,
                    self.miner
                        .form(*id)
                        .expect("every motif has a form")
                        .clone(),
                )
            })
            .collect();
        let macros = graphs
            .par_iter()
            .zip(&self.parts)
            .map(|(g, p)| macro_of(g, p))
            .collect();
        let result = ShardResult {
            stats,
            level_of: self.level_of,
            children: self.children,
            forms,
            macros,
        };
        (result, self.miner)
    }
}

/// True when `a` is `b` with some elements left out (same order).
fn is_subsequence(a: &[u128], b: &[u128]) -> bool {
    let mut rest = b.iter();
    a.iter().all(|x| rest.any(|y| y == x))
}

/// Sums per-graph counts into (occurrences, graphs with at least one); an id
/// counted zero times stays, with what the other graphs give it.
fn totals(per_graph: &[HashMap<u128, u64>]) -> Counts {
    let mut total: Counts = HashMap::default();
    for m in per_graph {
        for (&id, &n) in m {
            let t = total.entry(id).or_insert((0, 0));
            t.0 += n;
            t.1 += (n > 0) as u64;
        }
    }
    total
}

/// Adds `counts` (one shard's) into `total`.
pub fn add_counts(total: &mut Counts, counts: &Counts) {
    for (&id, &(c, s)) in counts {
        let t = total.entry(id).or_insert((0, 0));
        t.0 += c;
        t.1 += s;
    }
}

/// Sums shard counts and returns the ids frequent enough under `params`, best
/// first: count descending, then id ascending.
pub fn rank<'a>(shards: impl IntoIterator<Item = &'a Counts>, params: Params) -> Vec<u128> {
    let mut total: Counts = HashMap::default();
    for counts in shards {
        add_counts(&mut total, counts);
    }
    let mut rules: Vec<(u64, u128)> = total
        .into_iter()
        .filter(|&(_, (c, s))| c >= params.min_count && s >= params.min_support)
        .map(|(id, (c, _))| (c, id))
        .collect();
    rules.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    rules.into_iter().map(|(_, id)| id).collect()
}

/// Settles a round from every shard's [`Shard::apply`] counts of `rules`: the
/// rules that stay (those still frequent under `params` once applied, in their
/// order) and whether `rules` must be applied again without the others.
///
/// They need not be when no rule that goes claimed a merge in any graph (it is
/// absent from every shard's counts, [`Shard::apply`]): such a rule marked no
/// fragment used, so in every graph the rules that stay claim the same merges in
/// the same order, the cycle check undoes the same ones, and the partitions, the
/// merges kept and their counts are those this pass made. The pass stands for the
/// rules that stay, which then all stay again (their counts are unchanged).
/// Otherwise (a rule that goes kept or lost a merge somewhere) the rules that stay
/// are applied again, until a pass stands. Either way the round ends where always
/// applying again until no rule goes would: the same rules, the same partitions.
pub fn settle<'a>(
    applied: impl IntoIterator<Item = &'a Counts>,
    rules: &[u128],
    params: Params,
) -> (Vec<u128>, bool) {
    let mut total: Counts = HashMap::default();
    for counts in applied {
        add_counts(&mut total, counts);
    }
    let frequent = |id: &u128| {
        total
            .get(id)
            .is_some_and(|&(c, s)| c >= params.min_count && s >= params.min_support)
    };
    let stay: Vec<u128> = rules.iter().copied().filter(frequent).collect();
    let again = rules
        .iter()
        .any(|id| !frequent(id) && total.contains_key(id));
    (stay, again)
}

/// Merges shard results (in corpus order) into one, as if one shard had held
/// all their graphs: statistics summed, the first level and the smallest
/// children key kept, forms united, macro graphs concatenated. Associative, so
/// a coordinator can fold results as they arrive (streamed mining keeps one
/// running result instead of every shard's).
pub fn merge(results: impl IntoIterator<Item = ShardResult>) -> ShardResult {
    let mut out = ShardResult::default();
    for r in results {
        for (id, (c, s)) in r.stats {
            let t = out.stats.entry(id).or_insert((0, 0));
            t.0 += c;
            t.1 += s;
        }
        for (id, l) in r.level_of {
            let e = out.level_of.entry(id).or_insert(l);
            *e = (*e).min(l);
        }
        for (id, k) in r.children {
            match out.children.get(&id) {
                Some(old) if *old <= k => {}
                _ => {
                    out.children.insert(id, k);
                }
            }
        }
        for (id, f) in r.forms {
            out.forms.entry(id).or_insert(f);
        }
        out.macros.extend(r.macros);
    }
    out
}

/// Merges shard results (in corpus order) into the vocabulary, sorted by
/// (level, id), and the macro graphs of the whole corpus.
pub fn assemble(results: Vec<ShardResult>) -> (Vec<Motif>, Vec<Macro>) {
    let ShardResult {
        stats,
        level_of,
        children,
        mut forms,
        macros,
    } = merge(results);
    let mut vocab: Vec<Motif> = stats
        .into_iter()
        .map(|(id, (count, support))| {
            let (level, children) = match children.get(&id) {
                Some(k) => (level_of[&id], vec![k.a, k.b]),
                None => (0, vec![]),
            };
            Motif {
                id,
                form: forms.remove(&id).expect("every motif has a form"),
                level,
                children,
                count,
                support,
            }
        })
        .collect();
    vocab.sort_unstable_by_key(|m| (m.level, m.id));
    (vocab, macros)
}

/// Drives `shards` (each with its graphs) through every round on this
/// machine; the reference for any coordinator. Returns the rules of each level.
pub fn drive(
    shards: &mut [(Shard, Vec<&Dag>)],
    params: Params,
    ctl: &Control,
) -> Result<Vec<Vec<u128>>> {
    let total: usize = shards.iter().map(|(_, g)| g.len()).sum();
    let mut levels = Vec::new();
    for _ in 0..params.max_levels {
        ctl.set_total(total as u64);
        let counts: Vec<Counts> = shards
            .iter_mut()
            .map(|(s, g)| s.count(g, ctl))
            .collect::<Result<_>>()?;
        let mut rules = rank(&counts, params);
        loop {
            ctl.check()?;
            let applied: Vec<Counts> = shards
                .iter_mut()
                .map(|(s, g)| s.apply(g, &rules, ctl))
                .collect::<Result<_>>()?;
            let (stay, again) = settle(&applied, &rules, params);
            rules = stay;
            if !again || rules.is_empty() {
                break;
            }
        }
        // every rule that stays kept a merge: none stays when nothing was applied
        if rules.is_empty() {
            break;
        }
        for (s, _) in shards.iter_mut() {
            s.commit(rules.clone());
        }
        levels.push(rules);
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(min_count: u64, min_support: u64) -> Params {
        Params {
            min_count,
            min_support,
            max_motif_nodes: 8,
            max_levels: 4,
        }
    }

    fn counts(entries: &[(u128, u64, u64)]) -> Counts {
        entries.iter().map(|&(id, c, s)| (id, (c, s))).collect()
    }

    #[test]
    fn a_pass_stands_when_the_rules_that_go_claimed_nothing() {
        // rule 3 is absent from every shard's counts: it claimed no merge
        let a = counts(&[(1, 2, 1), (2, 1, 1)]);
        let b = counts(&[(2, 1, 1)]);
        assert_eq!(
            settle([&a, &b], &[1, 3, 2], params(2, 1)),
            (vec![1, 2], false)
        );
    }

    #[test]
    fn rules_are_applied_again_when_one_that_goes_claimed_a_merge() {
        // rule 2 kept one merge (below min_count): without it others may claim more
        let kept_one = counts(&[(1, 5, 3), (2, 1, 1)]);
        assert_eq!(settle([&kept_one], &[2, 1], params(2, 1)), (vec![1], true));
        // rule 2's every claimed merge was undone by the cycle check: (0, 0)
        let undone = counts(&[(1, 5, 3), (2, 0, 0)]);
        assert_eq!(settle([&undone], &[1, 2], params(2, 1)), (vec![1], true));
        // support counts too: rule 1 is frequent in one graph only
        assert_eq!(settle([&kept_one], &[1], params(2, 4)), (vec![], true));
    }

    #[test]
    fn zero_counts_sum_without_adding_support() {
        let per_graph: Vec<HashMap<u128, u64>> = vec![
            [(7, 0)].into_iter().collect(),
            [(7, 2), (8, 1)].into_iter().collect(),
        ];
        let t = totals(&per_graph);
        assert_eq!(t[&7], (2, 1));
        assert_eq!(t[&8], (1, 1));
    }
}
