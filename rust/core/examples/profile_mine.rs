//! Times mining on graphs written by `benches/dump_graphs.py` (raw little-endian arrays).
//! One graph: `n, m, k` as i64, then ops i32[n], src i64[m], dst i64[m], labels u64[k].
//! Many (`--many`): `g, k` as i64, labels u64[k], then per graph `n, m`, ops, src, dst.
//! Op labels are those of the glue (`hash::op_label` of each name) when `FILE.names`
//! lists the op names, one per line; else the hashes in the file.
//! `cargo run --release --example profile_mine -- [--many] FILE [REPS]`; threads from
//! RAYON_NUM_THREADS.
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use archmotif_core::control::Control;
use archmotif_core::mine::{mine, Strategy};
use archmotif_core::motif::Params;
use archmotif_core::order::canonical_ranks;
use archmotif_core::Dag;

fn read<T: Copy + Default>(b: &[u8], at: &mut usize, n: usize) -> Vec<T> {
    let sz = std::mem::size_of::<T>();
    assert!(*at + n * sz <= b.len(), "truncated file");
    let mut v = vec![T::default(); n];
    // SAFETY: bounds checked above; T is a plain number type.
    unsafe {
        std::ptr::copy_nonoverlapping(b[*at..].as_ptr(), v.as_mut_ptr() as *mut u8, n * sz);
    }
    *at += n * sz;
    v
}

fn graph(bytes: &[u8], at: &mut usize, n: usize, m: usize, k: usize) -> Dag {
    let ops: Vec<i32> = read(bytes, at, n);
    let src: Vec<i64> = read(bytes, at, m);
    let dst: Vec<i64> = read(bytes, at, m);
    Dag::validate(k, &ops, &src, &dst)
        .expect("a valid graph")
        .dag
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let many = args.first().is_some_and(|a| a == "--many");
    if many {
        args.remove(0);
    }
    let bytes = std::fs::read(&args[0]).unwrap();
    let reps: usize = args.get(1).map_or(3, |s| s.parse().unwrap());
    let mut at = 0;
    let (dags, labels) = if many {
        let h: Vec<i64> = read(&bytes, &mut at, 2);
        let labels: Vec<u64> = read(&bytes, &mut at, h[1] as usize);
        let dags: Vec<Dag> = (0..h[0])
            .map(|_| {
                let s: Vec<i64> = read(&bytes, &mut at, 2);
                graph(&bytes, &mut at, s[0] as usize, s[1] as usize, labels.len())
            })
            .collect();
        (dags, labels)
    } else {
        let h: Vec<i64> = read(&bytes, &mut at, 3);
        let mut after = at + h[0] as usize * 4 + h[1] as usize * 16;
        let labels: Vec<u64> = read(&bytes, &mut after, h[2] as usize);
        let dag = graph(&bytes, &mut at, h[0] as usize, h[1] as usize, labels.len());
        (vec![dag], labels)
    };
    // labels as the glue makes them, from the op names beside the file (one per
    // line, FILE.names), when there are any: ties then break as in `archmotif.mine`
    let labels = match std::fs::read_to_string(format!("{}.names", args[0])) {
        Ok(names) => names.lines().map(archmotif_core::hash::op_label).collect(),
        Err(_) => labels,
    };
    let refs: Vec<&Dag> = dags.iter().collect();
    let ctl = Control::new();
    let params = Params {
        min_count: 2,
        min_support: 1,
        max_motif_nodes: 32,
        max_levels: 8,
    };
    let n = dags.iter().map(|d| d.num_nodes()).sum::<usize>() as f64;
    for _ in 0..reps {
        let t = Instant::now();
        for d in &refs {
            canonical_ranks(d, &labels, &ctl).unwrap();
        }
        let to = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (mined, _) = mine(Strategy::Merge, &refs, &labels, params, &ctl).unwrap();
        let tm = t.elapsed().as_secs_f64();
        let macros: usize = mined.macros.iter().map(|m| m.motif_ids.len()).sum();
        println!(
            "order (serial) {to:.3} s ({:.2} M/s)  mine {tm:.3} s ({:.2} M/s)  motifs {} macro nodes {macros}",
            n / to / 1e6,
            n / tm / 1e6,
            mined.vocabulary.len(),
        );
    }
}
